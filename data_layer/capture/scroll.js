// Scrolls down in viewport steps (bounded by height and time), then loads what is still lazy.
async ({maxHeight, stepMs, deadline}) => {
  const root = document.scrollingElement || document.documentElement;
  document.querySelectorAll('img[loading="lazy"], iframe[loading="lazy"]').forEach(el => { el.loading = 'eager'; });
  for (let y = 0; y <= Math.min(root.scrollHeight, maxHeight) && Date.now() < deadline; y += innerHeight) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, stepMs));
  }
  window.scrollTo(0, Math.min(root.scrollHeight, maxHeight));
  await new Promise(r => setTimeout(r, stepMs));
  window.scrollTo(0, 0);
  const waiting = Array.from(document.images).filter(img => !img.complete);
  const left = Math.max(0, deadline - Date.now());
  await Promise.race([
    Promise.all(waiting.map(img => new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); }))),
    new Promise(r => setTimeout(r, left)),
  ]);
  if (document.fonts && document.fonts.ready) await Promise.race([document.fonts.ready, new Promise(r => setTimeout(r, left))]);
}
