import { writeFile } from 'node:fs/promises'
import { generateOpenApiYaml } from '../src/http/openapi.js'

/** Writes openapi/openapi.yaml from the route schemas. A test fails when the committed file drifts. */
const target = new URL('../openapi/openapi.yaml', import.meta.url)
await writeFile(target, await generateOpenApiYaml())
console.log(`wrote ${target.pathname}`)
