import { hideBin } from "yargs/helpers";
import { main } from "./cli.js";
import { processIo } from "./output.js";

const code = await main(hideBin(process.argv), processIo());
process.exitCode = code;
