import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Role } from "./api.js";

export interface Who {
  id: string;
  role: Role;
}

export interface SessionValue {
  who: Who;
  logout(): void;
}

export const SessionContext = createContext<SessionValue | undefined>(undefined);

export function useSession(): SessionValue {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a logged-in page");
  return s;
}
