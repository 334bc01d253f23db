// At scroll 0, every fixed element is pinned (absolute) to the box a visitor sees on arrival and every
// sticky one returns to the flow (where it sits at the top of the page). Two passes: the containing block
// of an absolute box and any transform are corrected by measuring again.
() => {
  window.scrollTo(0, 0);
  const fixed = [];
  for (const el of document.querySelectorAll('body *')) {
    const position = getComputedStyle(el).position;
    if (position === 'fixed') fixed.push(el);
    else if (position === 'sticky' || position === '-webkit-sticky')
      el.style.setProperty('position', 'static', 'important');
  }
  // One wholly outside the viewport on arrival (a skip link at left: 100% until it gets focus, a closed
  // drawer) is never seen there: pinned, it would widen the page past the breakpoint, so it is hidden.
  // One without a box of its own (a portal's root at 0, 0 whose content overflows it) stays.
  const outer = [], boxes = [];
  for (const el of fixed) {
    if (fixed.some(other => other !== el && other.contains(el))) continue;
    const box = el.getBoundingClientRect();
    const away = box.width > 0 && box.height > 0 &&
      (box.right <= 0 || box.bottom <= 0 || box.left >= innerWidth || box.top >= innerHeight);
    if (away) el.style.setProperty('display', 'none', 'important');
    else outer.push(el), boxes.push(box);
  }
  outer.forEach((el, i) => {
    const box = boxes[i], s = el.style;
    const pinned = {position: 'absolute', 'box-sizing': 'border-box', right: 'auto', bottom: 'auto', margin: '0',
      top: box.top + 'px', left: box.left + 'px', width: box.width + 'px', height: box.height + 'px'};
    for (const name in pinned) s.setProperty(name, pinned[name], 'important');
  });
  outer.forEach((el, i) => {
    const now = el.getBoundingClientRect(), box = boxes[i], s = el.style;
    s.setProperty('top', (parseFloat(s.top) + box.top - now.top) + 'px', 'important');
    s.setProperty('left', (parseFloat(s.left) + box.left - now.left) + 'px', 'important');
  });
  return outer.length;
}
