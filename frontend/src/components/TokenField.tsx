import { useEffect, useState } from "react";
import { getToken, setToken } from "../api/token";

/** API token input: writes need `Authorization: Bearer <token>`. */
export function TokenField() {
  const [value, setValue] = useState(getToken);
  const [saved, setSaved] = useState(getToken);
  useEffect(() => {
    const sync = () => { setValue(getToken()); setSaved(getToken()); };
    window.addEventListener("tidelens-token", sync);
    return () => window.removeEventListener("tidelens-token", sync);
  }, []);
  return (
    <form className="token" onSubmit={(e) => { e.preventDefault(); setToken(value.trim()); }}>
      <label>
        API token{" "}
        <input type="password" value={value} placeholder="for uploads" autoComplete="off"
          aria-label="API token" onChange={(e) => setValue(e.target.value)} />
      </label>
      <button type="submit" disabled={value.trim() === saved}>Save</button>
      {saved && <span className="muted" title="token stored in this browser">✓</span>}
    </form>
  );
}
