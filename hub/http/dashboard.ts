import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { markPublic } from './auth.js';

/**
 * Where `vite build` puts the dashboard: <package>/dist/dashboard. Found by walking up
 * from this file, which runs as hub/http/dashboard.ts (tsx) or dist/hub/http/dashboard.js.
 */
function dashboardDir(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      const built = join(dir, 'dist', 'dashboard');
      return existsSync(join(built, 'index.html')) ? built : undefined;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Serves the built dashboard at /; everything is bundled, nothing comes from a CDN. */
export function dashboardPlugin(dir = dashboardDir()) {
  return async (app: FastifyInstance): Promise<void> => {
    if (!dir) {
      app.get('/', { config: { access: 'public' } }, async (_req, reply) =>
        reply
          .type('text/plain; charset=utf-8')
          .send('The dashboard is not built. Run `npm run build` (it runs `vite build`), then restart.\n'),
      );
      return;
    }
    // Its own scope, so only the static routes are marked public.
    await app.register(async (scope) => {
      scope.addHook('onRoute', markPublic);
      await scope.register(fastifyStatic, {
        root: dir,
        prefix: '/',
        index: ['index.html'],
        // Vite puts a content hash in every asset name: they can be cached for good.
        setHeaders: (res, path) => {
          res.setHeader(
            'cache-control',
            path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
          );
        },
      });
    });
  };
}
