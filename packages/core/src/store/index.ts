export * from "./file-store.js";
export * from "./memory-store.js";
export { checkQuery, decodeCursor, encodeCursor, MAX_QUERY_LIMIT, queryDocuments } from "./query.js";
export { deepFreeze, MAX_DOCUMENT_DEPTH, own as ownDocument } from "./table.js";
