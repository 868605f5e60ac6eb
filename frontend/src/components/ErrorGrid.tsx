import { Link } from "react-router";
import type { ErrorItem } from "../api/types";
import { BoxOverlay, type OverlayBox } from "./BoxOverlay";

export const PRED_COLOR = "#e0115f";
export const GT_COLOR = "#12a150";

/** The target an error opens in the image view: its prediction, else its GT. */
export function targetOf(item: ErrorItem): string | undefined {
  if (item.pred) return `det:${item.pred.detection_id}`;
  if (item.gt) return `gt:${item.gt.id}`;
  return undefined;
}

function fmt(v: number | null | undefined, digits = 2): string {
  return typeof v === "number" ? v.toFixed(digits) : "–";
}

export function ErrorCard({ item, href }: { item: ErrorItem; href: string }) {
  const boxes: OverlayBox[] = [];
  if (item.gt) boxes.push({ key: "gt", bbox: item.gt.bbox, color: GT_COLOR });
  if (item.pred) boxes.push({ key: "pred", bbox: item.pred.bbox, color: PRED_COLOR, dashed: true });
  const predClass = item.pred?.class_name ?? (item.pred ? `#${item.pred.category_id}` : "–");
  const trueClass = item.gt?.class_name ?? (item.gt ? `#${item.gt.category_id}` : "–");
  return (
    <Link to={href} className="card" data-testid="error-card"
      title={`${item.image.file_name}\nscore ${fmt(item.pred?.score)} · IoU ${fmt(item.iou)}\npredicted ${predClass} · true ${trueClass}`}>
      <div className="thumb">
        <img src={item.image.thumbnail_url ?? item.image.url} alt={item.image.file_name} loading="lazy" />
        <BoxOverlay width={item.image.width} height={item.image.height} boxes={boxes} />
        <dl className="hover-info">
          <dt>score</dt><dd>{fmt(item.pred?.score)}</dd>
          <dt>IoU</dt><dd>{fmt(item.iou)}</dd>
          <dt>predicted</dt><dd>{predClass}</dd>
          <dt>true</dt><dd>{trueClass}</dd>
        </dl>
      </div>
      <div className="caption">
        <span className={`tag t-${item.type}`}>{item.type}</span>
        <span className="fname" title={item.image.file_name}>{item.image.file_name.split("/").pop()}</span>
      </div>
    </Link>
  );
}

export function ErrorGridLegend() {
  return (
    <p className="legend muted">
      <span style={{ color: PRED_COLOR }}>╌ prediction</span>{" "}
      <span style={{ color: GT_COLOR }}>— ground truth</span> · hover a thumbnail for score, IoU
      and classes; click to open the image
    </p>
  );
}
