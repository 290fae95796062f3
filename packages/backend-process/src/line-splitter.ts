/** Splits a byte stream into lines and hands each (without its newline) to `onLine`. */
export function lineSplitter(onLine: (line: string) => void, maxLine = 16 * 1024): (chunk: string) => void {
  let buffer = "";
  return (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      onLine(buffer.slice(0, nl).replace(/\r$/, "").slice(0, maxLine));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
    if (buffer.length > maxLine) {
      onLine(buffer.slice(0, maxLine));
      buffer = "";
    }
  };
}
