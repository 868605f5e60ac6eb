import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { post } from "../api/client";
import { useConfig, useDatasets, useRuns, useSeries } from "../api/hooks";
import type { Run } from "../api/types";
import { CheckpointUpload } from "../components/CheckpointUpload";
import { DatasetRegister, DatasetUpload } from "../components/DatasetForms";
import { JobsList } from "../components/Jobs";
import { Empty, ErrorBox, Loading } from "../components/States";

/** Epochs analysed and the latest AP50 (from the run's series). */
function RunStats({ run }: { run: Run }) {
  const series = useSeries(run.id);
  const eps = series.data?.epochs ?? [];
  const last = eps[eps.length - 1];
  const ap50 = last?.ap50 ?? run.latest?.ap50;
  return (
    <>
      <td>{run.checkpoint_count ?? "–"}</td>
      <td>{series.isPending ? "…" : eps.length}</td>
      <td>{ap50 != null ? `${ap50.toFixed(1)}${last ? ` (epoch ${last.epoch})` : ""}` : "–"}</td>
    </>
  );
}

function RunsTable({ selected, onSelect }: { selected?: number; onSelect: (id: number) => void }) {
  const runs = useRuns();
  const datasets = useDatasets();
  if (runs.isPending) return <Loading what="Loading runs" />;
  if (runs.isError) return <ErrorBox error={runs.error} retry={() => runs.refetch()} />;
  if (!runs.data.length) return <Empty>No runs yet. Create one below, then upload its checkpoints.</Empty>;
  const dsName = (id: number) => datasets.data?.find((d) => d.id === id)?.name ?? `#${id}`;
  return (
    <table className="table runs">
      <thead>
        <tr><th>Run</th><th>Dataset</th><th>Architecture</th><th>Checkpoints</th><th>Epochs analysed</th>
          <th>Latest AP50</th><th /></tr>
      </thead>
      <tbody>
        {runs.data.map((r) => (
          <tr key={r.id} className={r.id === selected ? "selected" : ""}>
            <td><Link to={`/runs/${r.id}`}>{r.name}</Link></td>
            <td>{dsName(r.dataset_id)}</td>
            <td><code>{r.architecture}</code></td>
            <RunStats run={r} />
            <td><button onClick={() => onSelect(r.id)}>Upload checkpoints</button></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CreateRun({ onCreated }: { onCreated: (id: number) => void }) {
  const qc = useQueryClient();
  const config = useConfig();
  const datasets = useDatasets();
  const [name, setName] = useState("");
  const [datasetId, setDatasetId] = useState("");
  const [arch, setArch] = useState("");
  const archs = config.data?.architectures ?? [];
  const chosenArch = arch || archs[0]?.name || "";
  const chosenDs = datasetId || String(datasets.data?.[0]?.id ?? "");
  const m = useMutation({
    mutationFn: () => post<Run>("/api/runs",
      { name, dataset_id: Number(chosenDs), architecture: chosenArch }),
    onSuccess: (run) => {
      setName("");
      qc.invalidateQueries({ queryKey: ["runs"] });
      onCreated(run.id);
    },
  });
  const submit = (e: FormEvent) => { e.preventDefault(); m.mutate(); };
  return (
    <form className="form" onSubmit={submit}>
      <h3>New run</h3>
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required
        placeholder="frcnn-bccd-lr0.01" /></label>
      <label>Dataset{" "}
        <select value={chosenDs} onChange={(e) => setDatasetId(e.target.value)} aria-label="dataset">
          {!datasets.data?.length && <option value="">no dataset yet</option>}
          {datasets.data?.map((d) => (
            <option key={d.id} value={d.id}>{d.name} ({d.image_count} images)</option>
          ))}
        </select>
      </label>
      <label>Architecture{" "}
        <select value={chosenArch} onChange={(e) => setArch(e.target.value)} aria-label="architecture">
          {archs.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select>
      </label>
      <button className="primary" disabled={m.isPending || !chosenDs || !chosenArch}>Create run</button>
      {config.isError && <ErrorBox error={config.error} />}
      {m.isError && <ErrorBox error={m.error} />}
    </form>
  );
}

export function RunsPage() {
  const [sp, setSp] = useSearchParams();
  const runs = useRuns();
  const selected = Number(sp.get("run")) || undefined;
  const select = (id: number) => setSp({ run: String(id) }, { replace: true });
  const selectedRun = runs.data?.find((r) => r.id === selected);
  return (
    <div className="page">
      <section>
        <h2>Runs</h2>
        <RunsTable selected={selected} onSelect={select} />
      </section>
      <section className="cols">
        <CreateRun onCreated={select} />
        <DatasetUpload />
        <DatasetRegister />
      </section>
      <section>
        <h2>Checkpoints {selectedRun && <>for <Link to={`/runs/${selectedRun.id}`}>{selectedRun.name}</Link></>}</h2>
        {selectedRun ? <CheckpointUpload key={selectedRun.id} runId={selectedRun.id} />
          : <Empty>Choose a run above (“Upload checkpoints”) to add its checkpoints.</Empty>}
      </section>
      <section>
        <h2>Jobs</h2>
        <JobsList />
      </section>
    </div>
  );
}
