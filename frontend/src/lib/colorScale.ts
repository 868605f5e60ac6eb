/**
 * Colour-scale maths for heatmaps. A stored map is an 8-bit PNG of
 * q = round(255 * (raw - min) / (max - min)) with the raw min and max beside it.
 * Per-map scale shows q / 255; a shared scale maps every raw value onto the min and
 * max over a group of maps so that differences in strength stay visible.
 */

export interface RawRange {
  min: number;
  max: number;
}

/** The raw value a stored 8-bit level stands for. */
export function rawFromLevel(level: number, r: RawRange): number {
  return r.min + (level / 255) * (r.max - r.min);
}

/** The common range of several maps; undefined when there are none. */
export function sharedRange(ranges: RawRange[]): RawRange | undefined {
  const ok = ranges.filter((r) => Number.isFinite(r.min) && Number.isFinite(r.max));
  if (!ok.length) return undefined;
  return { min: Math.min(...ok.map((r) => r.min)), max: Math.max(...ok.map((r) => r.max)) };
}

/**
 * A 256-entry table from stored level to display position in [0, 1]. With no
 * shared range this is level / 255. A flat range (max == min) maps to 0.
 */
export function levelTable(own: RawRange, shared?: RawRange): Float32Array {
  const table = new Float32Array(256);
  for (let q = 0; q < 256; q++) {
    if (!shared) {
      table[q] = own.max > own.min ? q / 255 : 0;
      continue;
    }
    const span = shared.max - shared.min;
    const t = span > 0 ? (rawFromLevel(q, own) - shared.min) / span : 0;
    table[q] = Math.min(1, Math.max(0, t));
  }
  return table;
}

/** The jet colormap: dark blue (0) through cyan, yellow to dark red (1), as RGB 0-255. */
export function jet(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const channel = (c: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - c))));
  return [channel(3), channel(2), channel(1)];
}

/**
 * Recolours grayscale pixels in place: reads the red channel as the stored level
 * and writes the jet colour of its display position, fully opaque.
 */
export function recolour(pixels: Uint8ClampedArray, table: Float32Array): void {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) lut.set(jet(table[q]), q * 3);
  for (let i = 0; i < pixels.length; i += 4) {
    const q = pixels[i];
    pixels[i] = lut[q * 3];
    pixels[i + 1] = lut[q * 3 + 1];
    pixels[i + 2] = lut[q * 3 + 2];
    pixels[i + 3] = 255;
  }
}

/** CSS gradient of the colormap, for colour bars. */
export function jetGradient(): string {
  const stops = [0, 0.125, 0.375, 0.625, 0.875, 1].map((t) => {
    const [r, g, b] = jet(t);
    return `rgb(${r},${g},${b}) ${t * 100}%`;
  });
  return `linear-gradient(to right, ${stops.join(", ")})`;
}
