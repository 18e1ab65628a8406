// Where a diagnostic's location (`segments[2].next`) is in the document's text:
// a small JSON scanner that records where each value starts and ends. A path
// that does not exist (a missing field) falls back to its nearest parent.

/** `{start, end, line, column}` of the value at `location`, or null. */
export function locate(text, location) {
  const path = parsePath(location);
  let spans;
  try {
    spans = scan(text);
  } catch {
    return null;
  }
  for (let n = path.length; n >= 0; n--) {
    const span = spans.get(JSON.stringify(path.slice(0, n)));
    if (span) {
      const before = text.slice(0, span.start);
      const line = before.split('\n').length;
      return { ...span, line, column: span.start - before.lastIndexOf('\n') };
    }
  }
  return null;
}

/** `a.b[2].c` → ['a', 'b', 2, 'c']. */
export function parsePath(location) {
  const parts = [];
  for (const m of String(location ?? '').matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  }
  return parts;
}

/** Every value's span by its path (as JSON text), walked with an explicit stack. */
function scan(text) {
  const spans = new Map();
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  // Each frame: the container's path, its kind, the next index, and where it started.
  const stack = [];
  let path = [];
  for (;;) {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      stack.push({ path, kind: c, index: 0, start });
    } else {
      if (c === '"') string();
      else while (i < text.length && /[^\s,\]}]/.test(text[i])) i++;
      if (i === start) throw new Error('unexpected end');
      spans.set(JSON.stringify(path), { start, end: i });
    }
    // Close finished containers, then find the next value's path.
    for (;;) {
      ws();
      const top = stack.at(-1);
      if (!top) return spans;
      if (text[i] === '}' || text[i] === ']') {
        i++;
        stack.pop();
        spans.set(JSON.stringify(top.path), { start: top.start, end: i });
        continue;
      }
      if (top.index > 0 || text[i] === ',') {
        if (text[i] !== ',') throw new Error('expected a comma');
        i++;
        ws();
      }
      if (top.kind === '{') {
        const key = string();
        ws();
        if (text[i++] !== ':') throw new Error('expected a colon');
        path = [...top.path, key];
        top.index++;
      } else {
        path = [...top.path, top.index++];
      }
      break;
    }
  }
}
