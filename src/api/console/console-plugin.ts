// The web console's surface: its session routes under /v1/sessions and its built assets at /console.
// The console itself calls only the native API; this plugin adds no other way to reach core.

import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import { consoleAssets, DEFAULT_ASSETS_DIR } from './console-assets.ts';
import { sessionRoutes } from './session-routes.ts';

export interface ConsoleDeps {
  authority: Authority;
  /** Where the built console lives (default: web/dist in this checkout). */
  assetsDir?: string;
}

export async function consolePlugin(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  await app.register(sessionRoutes(deps.authority));
  await app.register(consoleAssets(deps.assetsDir ?? DEFAULT_ASSETS_DIR));
}
