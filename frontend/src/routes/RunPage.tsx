import { useEffect } from "react";
import { Link, useLocation, useParams } from "react-router";
import { useDataset, useErrors, useJobs, useRun, useSeries, useWatches } from "../api/hooks";
import { ERROR_TYPES, type EpochSummary, type ErrorType } from "../api/types";
import { ErrorChart } from "../components/ErrorChart";
import { ErrorCard, ErrorGridLegend, targetOf } from "../components/ErrorGrid";
import { JobsList } from "../components/Jobs";
import { Empty, ErrorBox, Loading } from "../components/States";
import { TypeSelector } from "../components/TypeSelector";
import { toggleHidden } from "../lib/chartData";
import {
  parseRunState, resolveEpoch, serializeImageState, serializeRunState, type RunViewState,
} from "../lib/urlState";
import { useUrlState } from "../lib/useUrlState";
import { CheckpointUpload } from "../components/CheckpointUpload";

const PAGE = 24;

/** The error type with the most errors at an epoch (the default selection). */
function busiestType(summary?: EpochSummary): ErrorType {
  let best: ErrorType = "Cls";
  for (const t of ERROR_TYPES) {
    if ((summary?.counts?.[t] ?? 0) > (summary?.counts?.[best] ?? 0)) best = t;
  }
  return best;
}

/** Steps 2-4: error evolution chart, error type selector, misprediction grid. */
export function RunPage() {
  const runId = Number(useParams().runId);
  const run = useRun(runId);
  const jobs = useJobs(runId);
  const busy = jobs.data?.some((j) => j.state === "queued" || j.state === "running") ?? false;
  const series = useSeries(runId, busy);
  const watching = (useWatches(runId).data ?? []).filter((w) => w.active);
  const [state, update] = useUrlState(parseRunState, serializeRunState);

  const epochs = series.data?.epochs ?? [];
  const epochNums = epochs.map((e) => e.epoch);
  const epoch = resolveEpoch(state.epoch, epochNums);
  const summary = epochs.find((e) => e.epoch === epoch);
  const type: ErrorType = state.type ?? busiestType(summary);

  // Write the resolved epoch and type into the address so a copied link is exact.
  useEffect(() => {
    if (epoch !== undefined && (state.epoch !== epoch || !state.type)) {
      update({ epoch, type }, { replace: true });
    }
  }, [epoch, state.epoch, state.type, type, update]);

  if (run.isPending) return <Loading what="Loading run" />;
  if (run.isError) return <ErrorBox error={run.error} retry={() => run.refetch()} />;

  return (
    <div className="page">
      <div className="page-head">
        <Link to="/">← Runs</Link>
        <h2>{run.data.name}</h2>
        <code>{run.data.architecture}</code>
        {watching.map((w) => (
          <span key={w.id} className="muted" title="checkpoints written there are analysed as they land">
            watching <code>{w.path}</code> · {w.files_seen} checkpoint{w.files_seen === 1 ? "" : "s"} seen
          </span>
        ))}
      </div>
      <section>
        <div className="toolbar">
          <h3>Error evolution</h3>
          <Toggle label="metric" value={state.metric}
            options={[["count", "Counts"], ["dap", "dAP"]]} onChange={(metric) => update({ metric })} />
          <Toggle label="chart" value={state.chart}
            options={[["area", "Stacked area"], ["lines", "Lines"]]} onChange={(chart) => update({ chart })} />
          {summary && (
            <span className="muted">
              epoch {summary.epoch}: AP50 {summary.ap50?.toFixed(1) ?? "–"}
              {summary.ap50_95 != null && <> · AP50:95 {summary.ap50_95.toFixed(1)}</>}
              {summary.detections != null && <> · {summary.detections} detections</>}
            </span>
          )}
        </div>
        {series.isPending ? <Loading what="Loading series" />
          : series.isError ? <ErrorBox error={series.error} retry={() => series.refetch()} />
          : !epochs.length ? (
            <Empty>
              No analysed epoch yet. {busy ? "An analysis is running; the chart fills in when it finishes."
                : watching.length ? "Waiting for the first checkpoint in the watched folder (a training run writes one per epoch)."
                : "Upload checkpoints below to analyse them."}
            </Empty>
          ) : (
            <ErrorChart epochs={epochs} metric={state.metric} chart={state.chart} hidden={state.hidden}
              selected={epoch} onSelect={(e) => update({ epoch: e, cursor: undefined })}
              onToggle={(k) => update({ hidden: toggleHidden(state.hidden, k) }, { replace: true })} />
          )}
      </section>
      {epoch !== undefined && (
        <section>
          <div className="toolbar">
            <h3>Errors at epoch</h3>
            <EpochPicker epochs={epochNums} value={epoch} onChange={(e) => update({ epoch: e, cursor: undefined })} />
          </div>
          <TypeSelector summary={summary} value={type} onChange={(t) => update({ type: t, cursor: undefined })} />
          <ErrorGridSection runId={runId} datasetId={run.data.dataset_id} epoch={epoch} type={type}
            state={state} update={update} />
        </section>
      )}
      <details className="section" open={!epochs.length}>
        <summary>Checkpoints and jobs</summary>
        <CheckpointUpload runId={runId} />
        <JobsList runId={runId} />
      </details>
    </div>
  );
}

function Toggle<T extends string>({ label, value, options, onChange }: {
  label: string; value: T; options: [T, string][]; onChange: (v: T) => void;
}) {
  return (
    <span className="seg" role="group" aria-label={label}>
      {options.map(([v, text]) => (
        <button key={v} aria-pressed={v === value} className={v === value ? "on" : ""}
          onClick={() => onChange(v)}>{text}</button>
      ))}
    </span>
  );
}

function EpochPicker({ epochs, value, onChange }: {
  epochs: number[]; value: number; onChange: (e: number) => void;
}) {
  return (
    <select aria-label="epoch" value={value} onChange={(e) => onChange(Number(e.target.value))}>
      {epochs.map((e) => <option key={e} value={e}>{e}</option>)}
    </select>
  );
}

function ErrorGridSection({ runId, datasetId, epoch, type, state, update }: {
  runId: number; datasetId: number; epoch: number; type: ErrorType; state: RunViewState;
  update: (p: Partial<RunViewState>, o?: { replace?: boolean; state?: unknown }) => void;
}) {
  const location = useLocation();
  const dataset = useDataset(datasetId);
  const errors = useErrors(runId, { epoch, type, classId: state.classId, cursor: state.cursor, limit: PAGE });
  // Earlier cursors travel in history state; a shared link starts its own stack.
  const stack: string[] = (location.state as { cursors?: string[] } | null)?.cursors ?? [];

  const next = () => {
    if (!errors.data?.next_cursor) return;
    update({ cursor: errors.data.next_cursor }, { state: { cursors: [...stack, state.cursor ?? ""] } });
  };
  const prev = () => {
    const before = stack.slice(0, -1);
    update({ cursor: stack[stack.length - 1] || undefined }, { state: { cursors: before } });
  };
  const imageHref = (imageId: number, target?: string) => `/runs/${runId}/images/${imageId}?${
    serializeImageState({ epoch, type, target, method: "gradcam", opacity: 0.5, scale: "per" })}`;

  return (
    <>
      <div className="toolbar">
        <label>Class{" "}
          <select aria-label="class filter" value={state.classId ?? ""}
            onChange={(e) => update({ classId: e.target.value ? Number(e.target.value) : undefined, cursor: undefined })}>
            <option value="">all classes</option>
            {dataset.data?.categories.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </label>
        {errors.data && <span className="muted">{errors.data.total} {type} errors</span>}
        <span className="spacer" />
        <button onClick={prev} disabled={!state.cursor}>← Previous</button>
        <button onClick={next} disabled={!errors.data?.next_cursor}>Next →</button>
      </div>
      <ErrorGridLegend />
      {errors.isPending ? <Loading what="Loading errors" />
        : errors.isError ? <ErrorBox error={errors.error} retry={() => errors.refetch()} />
        : !errors.data.items.length ? <Empty>No {type} errors at epoch {epoch}{state.classId !== undefined ? " for this class" : ""}.</Empty>
        : (
          <div className={`grid ${errors.isPlaceholderData ? "stale" : ""}`}>
            {errors.data.items.map((it) => (
              <ErrorCard key={it.id} item={it} href={imageHref(it.image.id, targetOf(it))} />
            ))}
          </div>
        )}
    </>
  );
}
