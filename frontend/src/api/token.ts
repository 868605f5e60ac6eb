/** The API token for writes: kept in localStorage, taken once from `#token=...`. */

const KEY = "tidelens.token";

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function setToken(token: string): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // Private modes may refuse storage; the token then lives for this page only.
  }
  window.dispatchEvent(new Event("tidelens-token"));
}

/**
 * Reads `#token=...` from the address at load, stores it and strips it from the
 * address bar so a shared link never carries the secret.
 */
export function captureTokenFromHash(loc: Location = window.location): void {
  const hash = loc.hash.replace(/^#/, "");
  if (!hash) return;
  const params = new URLSearchParams(hash);
  const token = params.get("token");
  if (token === null) return;
  setToken(token);
  params.delete("token");
  const rest = params.toString();
  const url = loc.pathname + loc.search + (rest ? `#${rest}` : "");
  window.history.replaceState(window.history.state, "", url);
}
