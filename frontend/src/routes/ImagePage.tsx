import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { useConfig, useHeatmaps, useImageDetail, useRun, useSeries } from "../api/hooks";
import { METHODS, type HeatmapItem, type Method } from "../api/types";
import type { OverlayBox } from "../components/BoxOverlay";
import { EpochSlider } from "../components/EpochSlider";
import { GT_COLOR, PRED_COLOR } from "../components/ErrorGrid";
import { fmtRaw, ImageStack, RangeNote } from "../components/ImageStack";
import { Empty, ErrorBox, Loading } from "../components/States";
import { TargetList } from "../components/TargetList";
import { Trajectory } from "../components/Trajectory";
import { jetGradient, sharedRange, type RawRange } from "../lib/colorScale";
import { findTarget, targetsAt, trajectory, type TargetEntry } from "../lib/targets";
import {
  parseImageState, resolveEpoch, serializeImageState, serializeRunState,
} from "../lib/urlState";
import { useUrlState } from "../lib/useUrlState";

const METHOD_NAMES: Record<Method, string> = {
  gradcam: "Grad-CAM", gradcampp: "Grad-CAM++", layercam: "LayerCAM", scorecam: "ScoreCAM",
  eigencam: "EigenCAM",
};
const TARGET_COLOR = "#ffd400";
// Past this many predictions the focus view hides the others' boxes by default.
const CROWDED = 25;

/** The range shared by the ready maps of one row, when the shared scale is on. */
function rowRange(items: HeatmapItem[], on: boolean): RawRange | undefined {
  if (!on) return undefined;
  return sharedRange(items.filter((m) => m.status === "ready" && m.min != null && m.max != null)
    .map((m) => ({ min: m.min!, max: m.max! })));
}

/** The default target: a prediction with the chosen error, any error, a miss, anything. */
function defaultTarget(entries: TargetEntry[], type?: string): string | undefined {
  return (entries.find((e) => e.label === type)
    ?? entries.find((e) => e.kind === "det" && e.label !== "TP")
    ?? entries.find((e) => e.label === "Miss")
    ?? entries[0])?.key;
}

/** Steps 5-6: layer-wise heatmaps for one target, and the same target across epochs. */
export function ImagePage() {
  const params = useParams();
  const runId = Number(params.runId);
  const imageId = Number(params.imageId);
  const [state, update] = useUrlState(parseImageState, serializeImageState);
  const [showAllPreds, setShowAllPreds] = useState<boolean | undefined>(undefined);
  const run = useRun(runId);
  const config = useConfig();
  const series = useSeries(runId);
  const detail = useImageDetail(runId, imageId);

  const arch = config.data?.architectures.find((a) => a.name === run.data?.architecture);
  const allLayers = arch?.layers ?? [];
  const layers = state.layers?.filter((l) => allLayers.includes(l)) ?? allLayers;
  const deepest = allLayers[allLayers.length - 1];
  const epochs = useMemo(() => {
    const set = new Set<number>([...(series.data?.epochs ?? []).map((e) => e.epoch),
      ...(detail.data?.epochs ?? []).map((e) => e.epoch)]);
    return [...set].sort((a, b) => a - b);
  }, [series.data, detail.data]);
  const epoch = resolveEpoch(state.epoch, epochs);
  const entries = useMemo(() => (detail.data ? targetsAt(detail.data, epoch) : []),
    [detail.data, epoch]);
  const target = state.target ?? defaultTarget(entries, state.type);

  useEffect(() => {
    if (epoch !== undefined && target && (state.epoch !== epoch || state.target !== target)) {
      update({ epoch, target }, { replace: true });
    }
  }, [epoch, target, state.epoch, state.target, update]);

  const ready = epoch !== undefined && target !== undefined;
  const layerMaps = useHeatmaps(runId, ready
    ? { imageId, target, epochs: [epoch], layers, method: state.method } : null);
  const epochMaps = useHeatmaps(runId, ready && deepest
    ? { imageId, target, epochs, layers: [deepest], method: state.method } : null);

  if (run.isError) return <ErrorBox error={run.error} retry={() => run.refetch()} />;
  if (detail.isError) return <ErrorBox error={detail.error} retry={() => detail.refetch()} />;
  if (config.isError) return <ErrorBox error={config.error} />;
  if (detail.isPending || run.isPending || config.isPending) return <Loading what="Loading image" />;

  const d = detail.data;
  const shared = state.scale === "shared";
  const layerItems = layerMaps.data?.items ?? [];
  const epochItems = epochMaps.data?.items ?? [];
  const layerRange = rowRange(layerItems, shared);
  const epochRange = rowRange(epochItems, shared);
  const mapAt = (items: HeatmapItem[], e: number | undefined, layer: string | undefined) =>
    items.find((m) => m.epoch === e && m.layer === layer);
  const targetInfo = findTarget(d, target);
  const steps = trajectory(d, target);
  const labelNow = steps.find((s) => s.epoch === epoch)?.label ?? "none";
  const epochData = d.epochs.find((e) => e.epoch === epoch);

  const dets = entries.filter((e) => e.kind === "det");
  const showAll = showAllPreds ?? dets.length <= CROWDED;
  const targetEntry = entries.find((e) => e.key === target);
  const targetBox: OverlayBox[] = targetInfo
    ? [{ key: "target", bbox: targetInfo.bbox, color: TARGET_COLOR, emphasis: true }] : [];
  const focusBoxes: OverlayBox[] = [
    ...d.ground_truth.map((g) => ({ key: `gt${g.id}`, bbox: g.bbox, color: GT_COLOR })),
    ...(showAll ? dets : []).filter((e) => e.key !== target).map((e) => ({
      key: e.key, bbox: e.bbox, color: PRED_COLOR, dashed: true,
      label: dets.length <= CROWDED ? `${e.className} ${e.score?.toFixed(2)}` : undefined,
    })),
    ...targetBox.map((b) => ({
      ...b, label: targetEntry ? `${targetEntry.className}${targetEntry.score !== undefined
        ? ` ${targetEntry.score.toFixed(2)}` : ""} ${labelNow}` : undefined,
    })),
  ];
  const backHref = `/runs/${runId}?${serializeRunState({
    epoch, type: state.type, metric: "count", chart: "area", hidden: [] })}`;
  const setEpoch = (e: number) => update({ epoch: e }, { replace: true });

  return (
    <div className="page image-page">
      <div className="page-head">
        <Link to={backHref}>← {run.data.name}</Link>
        <h2 title={d.image.file_name}>{d.image.file_name.split("/").pop()}</h2>
        <span className="muted">{d.image.width}×{d.image.height} · <code>{run.data.architecture}</code></span>
      </div>

      <div className="toolbar controls">
        <label>Method{" "}
          <select aria-label="method" value={state.method}
            onChange={(e) => update({ method: e.target.value as Method })}>
            {METHODS.filter((m) => !config.data.methods?.length || config.data.methods.includes(m))
              .map((m) => <option key={m} value={m}>{METHOD_NAMES[m]}</option>)}
          </select>
        </label>
        <label>Opacity{" "}
          <input type="range" min={0} max={1} step={0.05} value={state.opacity} aria-label="opacity"
            onChange={(e) => update({ opacity: Number(e.target.value) }, { replace: true })} />
        </label>
        <span className="seg" role="group" aria-label="colour scale">
          {(["per", "shared"] as const).map((s) => (
            <button key={s} aria-pressed={state.scale === s} className={state.scale === s ? "on" : ""}
              onClick={() => update({ scale: s })}>{s === "per" ? "Per-map scale" : "Shared scale"}</button>
          ))}
        </span>
        <span className="colorbar" style={{ background: jetGradient() }} title="low → high" />
      </div>

      {!epochs.length ? <Empty>This run has no analysed epoch yet.</Empty> : (
        <>
          <section className="epoch-bar">
            <EpochSlider epochs={epochs} value={epoch!} onChange={setEpoch} />
            <Trajectory steps={steps} selected={epoch} onSelect={setEpoch} />
          </section>

          <div className="main-row">
            <section className="focus">
              <h3>
                Epoch {epoch} · <span className={`tag t-${labelNow}`}>{labelNow === "none" ? "no match" : labelNow}</span>{" "}
                <span className="muted">deepest layer <code>{deepest ?? "?"}</code></span>{" "}
                <RangeNote item={mapAt(epochItems, epoch, deepest)} />
              </h3>
              <ImageStack image={d.image} map={mapAt(epochItems, epoch, deepest)} shared={epochRange}
                opacity={state.opacity} boxes={focusBoxes} />
              <label className="chip">
                <input type="checkbox" checked={showAll} onChange={(e) => setShowAllPreds(e.target.checked)} />
                all {dets.length} predictions (dashed) · ground truth solid green · target yellow
              </label>
              {epochData && !epochData.detections.length && (
                <p className="muted">No detections on this image at epoch {epoch}.</p>
              )}
            </section>
            <aside>
              {targetInfo?.kind === "det" && targetInfo.epoch !== epoch && (
                <p className="note">
                  Target <code>{target}</code> is a prediction of epoch {targetInfo.epoch}; its box
                  and class are followed at this epoch (yellow).
                </p>
              )}
              <TargetList entries={entries} selected={target}
                onSelect={(key) => update({ target: key })} />
            </aside>
          </div>

          <section>
            <div className="toolbar">
              <h3>Layers at epoch {epoch}, shallow → deep</h3>
              <span className="muted">target <code data-testid="current-target">{target ?? "none"}</code>
                {state.scale === "shared" && layerRange && <> · shared range [{fmtRaw(layerRange.min)}, {fmtRaw(layerRange.max)}]</>}
              </span>
              <span className="spacer" />
              {allLayers.map((l) => (
                <label key={l} className="chip">
                  <input type="checkbox" checked={layers.includes(l)} onChange={() => {
                    const next = layers.includes(l) ? layers.filter((x) => x !== l)
                      : allLayers.filter((x) => x === l || layers.includes(x));
                    update({ layers: next.length === allLayers.length ? undefined : next });
                  }} />{l}
                </label>
              ))}
            </div>
            {!target ? <Empty>Pick a target on the right to compute its heatmaps.</Empty>
              : layerMaps.isError ? <ErrorBox error={layerMaps.error} retry={() => layerMaps.refetch()} />
              : (
                <div className="layers" data-testid="layer-row">
                  {layers.map((l) => {
                    const m = mapAt(layerItems, epoch, l);
                    return (
                      <figure key={l} className="layer">
                        <ImageStack image={d.image} map={m} shared={layerRange} opacity={state.opacity}
                          boxes={targetBox} thumb>
                          {!m && <div className="map-state pending">{layerMaps.isFetching ? "requesting…" : "no map"}</div>}
                        </ImageStack>
                        <figcaption><code>{l}</code> <RangeNote item={m} /></figcaption>
                      </figure>
                    );
                  })}
                </div>
              )}
          </section>

          {deepest && target && (
            <section>
              <h3>Deepest layer across epochs</h3>
              {epochMaps.isError ? <ErrorBox error={epochMaps.error} retry={() => epochMaps.refetch()} /> : (
                <div className="film" data-testid="epoch-film">
                  {epochs.map((e) => (
                    <figure key={e} className={`layer small ${e === epoch ? "sel" : ""}`} onClick={() => setEpoch(e)}>
                      <ImageStack image={d.image} map={mapAt(epochItems, e, deepest)} shared={epochRange}
                        opacity={state.opacity} boxes={targetBox} thumb />
                      <figcaption>epoch {e} <span className={`tag t-${steps.find((s) => s.epoch === e)?.label}`}>
                        {steps.find((s) => s.epoch === e)?.label}</span></figcaption>
                    </figure>
                  ))}
                </div>
              )}
            </section>
          )}
        </>
      )}
    </div>
  );
}
