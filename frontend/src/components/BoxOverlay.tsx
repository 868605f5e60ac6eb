import type { Box } from "../api/types";

export interface OverlayBox {
  key: string;
  bbox: Box; // xywh pixels of the original image
  color: string;
  dashed?: boolean;
  label?: string;
  emphasis?: boolean;
}

/**
 * SVG boxes over an image shown with `object-fit: contain`: the viewBox is the
 * original image size, so boxes in image pixels line up at any displayed size.
 */
export function BoxOverlay({ width, height, boxes }: { width: number; height: number; boxes: OverlayBox[] }) {
  const stroke = Math.max(1.5, Math.max(width, height) / 220);
  const font = Math.max(10, Math.max(width, height) / 40);
  return (
    <svg className="overlay" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="xMidYMid meet"
      aria-hidden="true">
      {boxes.map((b) => (
        <g key={b.key}>
          <rect x={b.bbox[0]} y={b.bbox[1]} width={b.bbox[2]} height={b.bbox[3]} fill="none"
            stroke={b.color} strokeWidth={b.emphasis ? stroke * 2 : stroke}
            strokeDasharray={b.dashed ? `${stroke * 3} ${stroke * 2}` : undefined} />
          {b.label && (
            <text x={b.bbox[0] > width / 2 ? b.bbox[0] + b.bbox[2] - stroke : b.bbox[0] + stroke}
              textAnchor={b.bbox[0] > width / 2 ? "end" : "start"}
              y={b.bbox[1] > font * 1.2 ? b.bbox[1] - stroke : b.bbox[1] + b.bbox[3] + font}
              fontSize={font}
              fill={b.color} stroke="#fff" strokeWidth={font / 6} paintOrder="stroke">{b.label}</text>
          )}
        </g>
      ))}
    </svg>
  );
}
