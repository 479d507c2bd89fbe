import { z } from 'zod';
import { LOOPBACK } from './ports.js';

/** The part of `/healthz` jetsched reads. A failing check answers 503 with the same shape. */
export const HealthzSchema = z.object({ status: z.string(), error: z.string().optional() });
export type Healthz = z.infer<typeof HealthzSchema>;

const PeerSchema = z.object({
  name: z.string(),
  current: z.boolean().optional(),
  offline: z.boolean().optional(),
});

/** The part of `/jsz` jetsched reads: the JetStream meta group as this server sees it. */
export const JszSchema = z.object({
  server_id: z.string().optional(),
  meta_cluster: z
    .object({
      name: z.string().optional(),
      leader: z.string().optional(),
      cluster_size: z.number().optional(),
      replicas: z.array(PeerSchema).optional(),
    })
    .optional(),
});
export type Jsz = z.infer<typeof JszSchema>;

/** GETs a monitoring endpoint (e.g. "healthz?js-enabled-only=true") and returns its JSON, whatever the HTTP status. */
export async function getMonitorJson(
  monitorPort: number,
  path: string,
  timeoutMs = 2_000,
): Promise<unknown> {
  const res = await fetch(`http://${LOOPBACK}:${monitorPort}/${path.replace(/^\//, '')}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  return res.json();
}

/** Undefined when healthy, else the reason the server gives. */
export async function healthProblem(
  monitorPort: number,
  jsEnabledOnly: boolean,
): Promise<string | undefined> {
  const body = HealthzSchema.parse(
    await getMonitorJson(monitorPort, jsEnabledOnly ? 'healthz?js-enabled-only=true' : 'healthz'),
  );
  return body.status === 'ok' ? undefined : (body.error ?? body.status);
}

export async function getJsz(monitorPort: number): Promise<Jsz> {
  return JszSchema.parse(await getMonitorJson(monitorPort, 'jsz'));
}
