/** Fetch wrapper for the TideLens API: bearer token, one error type from the envelope. */
import { getToken } from "./token";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Turns a non-2xx response body into an ApiError, whatever shape it has. */
export function errorFromBody(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text);
    if (body?.error?.message) {
      return new ApiError(status, body.error.code ?? "error", body.error.message,
        body.error.details ?? {});
    }
    if (typeof body?.detail === "string") return new ApiError(status, "error", body.detail);
  } catch {
    // Not JSON: fall through to a generic message.
  }
  const hint = status === 401 || status === 403
    ? " Set the API token at the top of the runs page." : "";
  return new ApiError(status, "http_error", `Request failed (HTTP ${status}).${hint}`);
}

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (init.body && !(init.body instanceof FormData)) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the TideLens server. Is it running?");
  }
  const text = await res.text();
  if (!res.ok) throw errorFromBody(res.status, text);
  return (text ? JSON.parse(text) : null) as T;
}

export const post = <T>(path: string, body?: unknown) =>
  api<T>(path, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

/** Builds a query string, leaving out undefined, null and empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort: () => void;
}

/**
 * Multipart POST through XMLHttpRequest, the one browser API that reports upload
 * progress. `onProgress` gets (bytes sent, bytes total).
 */
export function uploadWithProgress<T>(
  path: string,
  form: FormData,
  onProgress: (sent: number, total: number) => void,
): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve((xhr.responseText ? JSON.parse(xhr.responseText) : null) as T);
      } else {
        reject(errorFromBody(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "Upload failed: the connection dropped."));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "Upload cancelled."));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
