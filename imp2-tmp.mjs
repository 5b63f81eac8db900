const t=Date.now();
for (const m of process.argv.slice(2)) await import(m);
globalThis.gc?.();
await new Promise(r=>setTimeout(r,500));
globalThis.gc?.();
const m=process.memoryUsage();
console.log('rss', (m.rss/2**20).toFixed(1), 'heapUsed', (m.heapUsed/2**20).toFixed(1), 'heapTotal',(m.heapTotal/2**20).toFixed(1), 'ms', Date.now()-t);
