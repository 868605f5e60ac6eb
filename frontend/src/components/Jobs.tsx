import { useMutation, useQueryClient } from "@tanstack/react-query";
import { post } from "../api/client";
import { useJobs } from "../api/hooks";
import type { Job } from "../api/types";
import { Empty, ErrorBox, Loading, messageOf } from "./States";

function fraction(job: Job): number | undefined {
  if (job.state === "succeeded") return 1;
  if (!job.total) return undefined;
  return Math.min(1, (job.done ?? 0) / job.total);
}

function seconds(a?: string | null, b?: string | null): string {
  if (!a) return "";
  const end = b ? Date.parse(b) : Date.now();
  const s = Math.max(0, (end - Date.parse(a)) / 1000);
  return s < 60 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

function JobRow({ job }: { job: Job }) {
  const qc = useQueryClient();
  const act = useMutation({
    mutationFn: (what: "cancel" | "retry") => post<Job>(`/api/jobs/${job.id}/${what}`),
    onSettled: () => qc.invalidateQueries({ queryKey: ["jobs"] }),
  });
  const f = fraction(job);
  const active = job.state === "queued" || job.state === "running";
  return (
    <tr className={`job ${job.state}`} data-testid="job-row" data-state={job.state}>
      <td>#{job.id}</td>
      <td>{job.kind}{job.epoch != null && <> · epoch {job.epoch}</>}</td>
      <td><span className={`pill ${job.state}`}>{job.state}</span></td>
      <td><div className="progress-cell">
        <progress max={1} value={f} aria-label={`job ${job.id} progress`} />
        <span className="muted">
          {job.stage ?? ""}{job.total ? ` ${job.done ?? 0}/${job.total}` : ""}
        </span>
      </div></td>
      <td className="muted">{seconds(job.started_at, job.finished_at)}</td>
      <td>
        {active && <button onClick={() => act.mutate("cancel")} disabled={act.isPending}>Cancel</button>}
        {(job.state === "failed" || job.state === "cancelled") && (
          <button onClick={() => act.mutate("retry")} disabled={act.isPending}>Retry</button>
        )}
      </td>
      <td className="job-error">
        {job.error && <span className="err-text">{job.error}</span>}
        {act.error && <span className="err-text">{messageOf(act.error)}</span>}
      </td>
    </tr>
  );
}

/** Jobs, newest first, with live progress while any is queued or running. */
export function JobsList({ runId }: { runId?: number }) {
  const jobs = useJobs(runId);
  if (jobs.isPending) return <Loading what="Loading jobs" />;
  if (jobs.isError) return <ErrorBox error={jobs.error} retry={() => jobs.refetch()} />;
  if (!jobs.data.length) return <Empty>No jobs yet. Upload a checkpoint to queue an analysis.</Empty>;
  const sorted = [...jobs.data].sort((a, b) => b.id - a.id);
  return (
    <table className="table jobs">
      <thead>
        <tr><th>Job</th><th>What</th><th>State</th><th>Progress</th><th>Time</th><th /><th /></tr>
      </thead>
      <tbody>{sorted.map((j) => <JobRow key={j.id} job={j} />)}</tbody>
    </table>
  );
}
