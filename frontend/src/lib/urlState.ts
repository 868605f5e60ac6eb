/**
 * Typed view state kept in URL search params (docs/ARCHITECTURE.md, "Web routes").
 * Parsing is total: a malformed or missing value falls back to its default, so any
 * hand-edited or old link still opens. Serialising leaves defaults out.
 */
import { ERROR_TYPES, METHODS, type ErrorType, type Method } from "../api/types";

export type Metric = "count" | "dap";
export type ChartKind = "area" | "lines";
export type Scale = "per" | "shared";

export interface RunViewState {
  epoch?: number;
  type?: ErrorType;
  metric: Metric;
  chart: ChartKind;
  classId?: number;
  cursor?: string;
  hidden: string[];
}

export interface ImageViewState {
  epoch?: number;
  type?: ErrorType;
  target?: string;
  method: Method;
  layers?: string[];
  opacity: number;
  scale: Scale;
}

export const DEFAULT_OPACITY = 0.5;

function int(v: string | null): number | undefined {
  if (v === null || !/^-?\d+$/.test(v.trim())) return undefined;
  return Number.parseInt(v, 10);
}

function oneOf<T extends string>(v: string | null, allowed: readonly T[]): T | undefined {
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
}

function list(v: string | null): string[] {
  return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

/** `det:<id>` or `gt:<id>`; anything else is dropped. */
export function parseTarget(v: string | null | undefined):
  { kind: "det" | "gt"; id: number } | undefined {
  const m = v ? /^(det|gt):(\d+)$/.exec(v) : null;
  return m ? { kind: m[1] as "det" | "gt", id: Number(m[2]) } : undefined;
}

export function parseRunState(sp: URLSearchParams): RunViewState {
  return {
    epoch: int(sp.get("epoch")),
    type: oneOf(sp.get("type"), ERROR_TYPES),
    metric: oneOf(sp.get("metric"), ["count", "dap"] as const) ?? "count",
    chart: oneOf(sp.get("chart"), ["area", "lines"] as const) ?? "area",
    classId: int(sp.get("class")),
    cursor: sp.get("cursor") || undefined,
    hidden: list(sp.get("hidden")),
  };
}

export function serializeRunState(s: RunViewState): URLSearchParams {
  const sp = new URLSearchParams();
  if (s.epoch !== undefined) sp.set("epoch", String(s.epoch));
  if (s.type) sp.set("type", s.type);
  if (s.metric !== "count") sp.set("metric", s.metric);
  if (s.chart !== "area") sp.set("chart", s.chart);
  if (s.classId !== undefined) sp.set("class", String(s.classId));
  if (s.cursor) sp.set("cursor", s.cursor);
  if (s.hidden.length) sp.set("hidden", s.hidden.join(","));
  return sp;
}

export function parseImageState(sp: URLSearchParams): ImageViewState {
  const opacity = Number.parseFloat(sp.get("opacity") ?? "");
  const layers = list(sp.get("layers"));
  return {
    epoch: int(sp.get("epoch")),
    type: oneOf(sp.get("type"), ERROR_TYPES),
    target: parseTarget(sp.get("target")) ? sp.get("target")! : undefined,
    method: oneOf(sp.get("method"), METHODS) ?? "gradcam",
    layers: layers.length ? layers : undefined,
    opacity: Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : DEFAULT_OPACITY,
    scale: oneOf(sp.get("scale"), ["per", "shared"] as const) ?? "per",
  };
}

export function serializeImageState(s: ImageViewState): URLSearchParams {
  const sp = new URLSearchParams();
  if (s.epoch !== undefined) sp.set("epoch", String(s.epoch));
  if (s.type) sp.set("type", s.type);
  if (s.target) sp.set("target", s.target);
  if (s.method !== "gradcam") sp.set("method", s.method);
  if (s.layers?.length) sp.set("layers", s.layers.join(","));
  if (s.opacity !== DEFAULT_OPACITY) sp.set("opacity", String(Math.round(s.opacity * 100) / 100));
  if (s.scale !== "per") sp.set("scale", s.scale);
  return sp;
}

/** The epoch to show: the requested one if analysed, else the latest analysed. */
export function resolveEpoch(requested: number | undefined, epochs: number[]):
  number | undefined {
  if (!epochs.length) return undefined;
  if (requested !== undefined && epochs.includes(requested)) return requested;
  return epochs[epochs.length - 1];
}

/** Infers an epoch number from a checkpoint file name (epoch_003.pt, ep12.pth, e7.ckpt). */
export function epochFromFileName(name: string): number | undefined {
  const stem = name.replace(/\.[^.]+$/, "");
  const m = /(?:epoch|ep|e)[_\-\s]?(\d+)/i.exec(stem) ?? /(\d+)(?!.*\d)/.exec(stem);
  return m ? Number.parseInt(m[1], 10) : undefined;
}
