// Small hooks the views share: loading from the API, refreshed when the live feed says something
// changed, with the API's error kept to be shown in words.
import { useCallback, useEffect, useState } from "preact/hooks";

/**
 * Runs `load()` (a promise) now and whenever one of `deps` changes; returns
 * `{ data, error, reload }`. The previous data stay shown while a reload runs.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(() => {
    load()
      .then((data) => setState({ data, error: null }))
      .catch((error) => setState((old) => ({ data: old.data, error: error.message })));
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}
