import { useEffect, useRef, useState } from "react";
import type { HeatmapItem } from "../api/types";
import { levelTable, recolour, type RawRange } from "../lib/colorScale";

function needsCors(url: string): boolean {
  try {
    return new URL(url, window.location.href).origin !== window.location.origin;
  } catch {
    return false;
  }
}

/**
 * Draws one stored heatmap (8-bit grayscale PNG at feature resolution) recoloured
 * with jet, on its own scale or on `shared`. The canvas is stretched by CSS over
 * the image, which smooths it; `opacity` is applied by CSS too.
 */
export function HeatmapCanvas({ item, shared, opacity }: {
  item?: HeatmapItem;
  shared?: RawRange;
  opacity: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const ready = item?.status === "ready" && item.url;
  const own = { min: item?.min ?? 0, max: item?.max ?? 0 };

  useEffect(() => {
    if (!ready || !item?.url) return;
    let cancelled = false;
    const img = new Image();
    if (needsCors(item.url)) img.crossOrigin = "anonymous";
    img.onload = () => {
      const c = canvas.current;
      if (cancelled || !c) return;
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext("2d", { willReadFrequently: true });
      if (!ctx) return;
      ctx.drawImage(img, 0, 0);
      try {
        const data = ctx.getImageData(0, 0, c.width, c.height);
        recolour(data.data, levelTable(own, shared));
        ctx.putImageData(data, 0, 0);
        setFailed(null);
      } catch {
        setFailed("map not readable (cross-origin)");
      }
    };
    img.onerror = () => { if (!cancelled) setFailed("map image did not load"); };
    img.src = item.url;
    return () => { cancelled = true; };
    // own/shared are compared by value through the key below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, item?.url, own.min, own.max, shared?.min, shared?.max]);

  if (!item) return null;
  if (item.status === "pending") {
    return <div className="map-state pending" data-testid="map-pending">computing…</div>;
  }
  if (item.status === "failed" || failed) {
    return <div className="map-state failed" title={item.error ?? failed ?? ""}>map failed{item.error ? `: ${item.error}` : ""}</div>;
  }
  return <canvas ref={canvas} className="heat" style={{ opacity }} data-testid="map-ready" />;
}
