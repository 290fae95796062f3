// Child process for the cross-process encryptedFileSecrets test: sets N keys `<prefix>-<i>` in scope "shared"
// through its own store handle, one at a time, then prints "done".
import { encryptedFileSecrets } from "@mcpfleet/core";

const [path, prefix, count, key] = process.argv.slice(2) as [string, string, string, string];
const store = encryptedFileSecrets({ path, key });
for (let i = 0; i < Number(count); i++)
  await store.set({ scope: "shared", key: `${prefix}-${i}` }, `value-${prefix}-${i}`);
await store.close();
process.stdout.write("done\n");
