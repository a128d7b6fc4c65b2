// The device list's pages, held near the viewport only: the API pages forward with a cursor
// (`after=` the last id of the page before), so the cache keeps each page's cursor (a few bytes)
// for good and its rows only while they are near what is shown. Memory and garbage stay bounded
// at 100,000 devices. Pure: the caller fetches what `wanted` names and hands it to `store`.

export class PageCache {
  /** A cache of pages of `size` rows that keeps `kept` pages on each side of the viewport. */
  constructor(size, kept = 5) {
    this.size = size;
    this.kept = kept;
    this.pages = new Map();
    this.stale = new Set();
    this.cursors = [null];
    this.total = null;
  }

  /** The page to fetch next for rows `first..last` (`{ index, after }`), or null when none is missing. */
  wanted(first, last) {
    const from = Math.floor(first / this.size);
    const to = Math.floor(Math.max(first, last - 1) / this.size);
    for (let index = from; index <= to; index += 1) {
      if (this.loaded(index) || (this.total !== null && index * this.size >= this.total)) continue;
      const reachable = Math.min(index, this.cursors.length - 1);
      for (let step = reachable; step <= index; step += 1) {
        if (!this.loaded(step)) return { index: step, after: this.cursors[step] };
      }
    }
    return null;
  }

  /** Whether page `index` is held and fresh. */
  loaded(index) {
    return this.pages.has(index) && !this.stale.has(index);
  }

  /** Stores page `index` (its `items`, the cursor after it, the filter's total). */
  store(index, items, nextCursor, total) {
    this.pages.set(index, items);
    this.stale.delete(index);
    this.total = total;
    if (nextCursor !== null && this.cursors.length === index + 1) this.cursors.push(nextCursor);
  }

  /** Drops the rows of pages more than `kept` pages away from rows `first..last`. */
  evict(first, last) {
    const from = Math.floor(first / this.size) - this.kept;
    const to = Math.floor(last / this.size) + this.kept;
    for (const index of this.pages.keys()) {
      if (index < from || index > to) {
        this.pages.delete(index);
        this.stale.delete(index);
      }
    }
  }

  /** Marks the pages that hold rows `first..last` stale: shown until fetched again. */
  refresh(first, last) {
    for (let index = Math.floor(first / this.size); index <= Math.floor(last / this.size); index += 1) {
      if (this.pages.has(index)) this.stale.add(index);
    }
  }

  /** Rows `first..last` that are loaded, as `[row, item]`. */
  rows(first, last) {
    const found = [];
    for (let row = first; row < last; row += 1) {
      const item = this.pages.get(Math.floor(row / this.size))?.[row % this.size];
      if (item) found.push([row, item]);
    }
    return found;
  }
}
