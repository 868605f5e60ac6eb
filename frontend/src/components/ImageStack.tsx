import type { ReactNode } from "react";
import type { HeatmapItem, ImageRef } from "../api/types";
import type { RawRange } from "../lib/colorScale";
import { BoxOverlay, type OverlayBox } from "./BoxOverlay";
import { HeatmapCanvas } from "./HeatmapCanvas";

/** The image, a heatmap over it and boxes on top, all at the image's aspect ratio. */
export function ImageStack({ image, map, shared, opacity, boxes = [], children, thumb }: {
  image: ImageRef;
  map?: HeatmapItem;
  shared?: RawRange;
  opacity: number;
  boxes?: OverlayBox[];
  children?: ReactNode;
  thumb?: boolean;
}) {
  return (
    <div className="stack" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
      <img src={thumb && image.thumbnail_url ? image.thumbnail_url : image.url} alt={image.file_name} />
      <HeatmapCanvas item={map} shared={shared} opacity={opacity} />
      <BoxOverlay width={image.width} height={image.height} boxes={boxes} />
      {children}
    </div>
  );
}

/** Raw map values span many magnitudes: exponent form when tiny or huge. */
export function fmtRaw(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(3);
}

export function RangeNote({ item }: { item?: HeatmapItem }) {
  if (!item || item.status !== "ready" || item.min == null || item.max == null) return null;
  const flat = item.max <= item.min;
  // Gradient methods clip negative evidence (ReLU), so a layer whose weighted
  // activations sum below zero everywhere (common in early epochs) is all zero.
  const hint =
    "no positive evidence for this target at this layer; " +
    "LayerCAM and EigenCAM keep spatial signal where Grad-CAM's is clipped";
  return (
    <span className="muted range" title="raw min and max of this map">
      [{fmtRaw(item.min)}, {fmtRaw(item.max)}]
      {flat && <abbr title={hint}> flat: no signal (try LayerCAM)</abbr>}
    </span>
  );
}
