import {
  Area, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer,
  Tooltip, XAxis, YAxis,
} from "recharts";
import { ERROR_TYPES, type EpochSummary } from "../api/types";
import { nearestEpoch, toChartRows, TYPE_COLORS, TYPE_NAMES } from "../lib/chartData";
import type { ChartKind, Metric } from "../lib/urlState";

interface Props {
  epochs: EpochSummary[];
  metric: Metric;
  chart: ChartKind;
  hidden: string[];
  selected?: number;
  onSelect: (epoch: number) => void;
  onToggle: (key: string) => void;
}

/**
 * Every error type over the epochs (counts or dAP, stacked areas or lines) with AP50
 * on a second axis. Clicking anywhere over an epoch selects it; clicking a legend
 * entry hides or shows that series.
 */
export function ErrorChart({ epochs, metric, chart, hidden, selected, onSelect, onToggle }: Props) {
  const rows = toChartRows(epochs, metric);
  const xs = rows.map((r) => r.epoch);
  const single = rows.length === 1;
  const unit = metric === "count" ? "errors" : "dAP (AP points)";
  return (
    <div className="chart" data-testid="error-chart">
      <ResponsiveContainer width="100%" height={320}>
        <ComposedChart
          data={rows}
          margin={{ top: 20, right: 16, bottom: 4, left: 0 }}
          onClick={(state) => {
            // Recharts reports the hovered point by label or by index, depending on
            // how the pointer got there; either names the epoch.
            const st = state as { activeLabel?: unknown; activeTooltipIndex?: unknown } | null;
            const byIndex = rows[Number(st?.activeTooltipIndex)]?.epoch;
            const label = st?.activeLabel ?? byIndex;
            const e = label !== undefined && label !== null ? nearestEpoch(Number(label), xs) : undefined;
            if (e !== undefined && Number.isFinite(e)) onSelect(e);
          }}
          style={{ cursor: "pointer" }}
        >
          <CartesianGrid strokeDasharray="3 3" stroke="#e4e4e4" />
          <XAxis dataKey="epoch" type="number" domain={single ? [xs[0] - 1, xs[0] + 1] : ["dataMin", "dataMax"]}
            ticks={xs.length <= 30 ? xs : undefined} allowDecimals={false}
            label={{ value: "epoch", position: "insideBottomRight", offset: -2 }} />
          <YAxis yAxisId="err" allowDecimals={metric === "dap"}
            label={{ value: unit, angle: -90, position: "insideLeft", offset: 12 }} />
          <YAxis yAxisId="ap" orientation="right" domain={[0, 100]}
            label={{ value: "AP50", angle: 90, position: "insideRight" }} />
          <Tooltip
            itemSorter={() => 0}
            formatter={(v, name) => [typeof v === "number"
              ? (metric === "count" && name !== "AP50" ? v : v.toFixed(2)) : String(v), name]}
            labelFormatter={(l) => `epoch ${l}`}
          />
          <Legend itemSorter={null}
            onClick={(e, _i, ev) => {
              ev?.stopPropagation?.(); // a legend click is not an epoch click
              if (e.dataKey !== undefined) onToggle(String(e.dataKey));
            }}
            wrapperStyle={{ cursor: "pointer" }}
            formatter={(value, entry) => {
              const off = hidden.includes(String(entry.dataKey));
              return <span style={{ opacity: off ? 0.4 : 1, textDecoration: off ? "line-through" : "none" }}>{value}</span>;
            }} />
          {ERROR_TYPES.map((t) => (chart === "area" ? (
            <Area key={t} yAxisId="err" type="linear" dataKey={t} name={`${TYPE_NAMES[t]} (${t})`}
              stackId="errors" stroke={TYPE_COLORS[t]} fill={TYPE_COLORS[t]} fillOpacity={0.55}
              hide={hidden.includes(t)} isAnimationActive={false} dot={single} />
          ) : (
            <Line key={t} yAxisId="err" type="linear" dataKey={t} name={`${TYPE_NAMES[t]} (${t})`}
              stroke={TYPE_COLORS[t]} strokeWidth={2} dot={{ r: 3 }} hide={hidden.includes(t)}
              isAnimationActive={false} />
          )))}
          <Line yAxisId="ap" type="linear" dataKey="ap50" name="AP50" stroke="#111"
            strokeWidth={2} strokeDasharray="6 3" dot={{ r: 3 }} hide={hidden.includes("ap50")}
            isAnimationActive={false} connectNulls />
          {selected !== undefined && (
            <ReferenceLine yAxisId="err" x={selected} stroke="#333" strokeWidth={2}
              label={{ value: `epoch ${selected}`, position: "top", fontSize: 11 }} />
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
