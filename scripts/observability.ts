import { mkdir, writeFile } from 'node:fs/promises'
import { renderObservabilityFiles } from './observability/files.js'

/** Writes the Grafana dashboard and its Kubernetes twins (ConfigMap, PrometheusRule). A test fails on drift. */
for (const [path, text] of Object.entries(await renderObservabilityFiles())) {
  const target = new URL(`../${path}`, import.meta.url)
  await mkdir(new URL('./', target), { recursive: true })
  await writeFile(target, text)
  console.log(`wrote ${path}`)
}
