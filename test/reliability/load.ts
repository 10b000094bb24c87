// A steady stream of captures against a server process, remembering every answer.
import { call } from './server-process.js';

export interface CaptureAnswer {
  /** Milliseconds (performance.now) when the request was sent and when its answer arrived. */
  sentAt: number;
  answeredAt: number;
  status: number;
  sessionId?: string;
  code?: string;
}

export interface Load {
  answers: CaptureAnswer[];
  /** Requests whose connection failed: never answered. */
  failures: { sentAt: number; failedAt: number; error: string }[];
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

/** `workers` loops of captures with fresh fingerprints, until stop() or a connection failure. */
export function captureLoad(base: string, licenseKey: string, workers: number, tag: string): Load {
  const answers: CaptureAnswer[] = [];
  const failures: Load['failures'] = [];
  let running = true;
  let n = 0;
  const loop = async () => {
    while (running) {
      const i = ++n;
      const sentAt = performance.now();
      try {
        const res = await call(base, 'POST', '/api/v1/sessions', {
          licenseKey,
          fingerprint: { cpu: `${tag}-${i}`, board: 'B' },
          machine: { hostname: `${tag.toUpperCase()}-${i}` },
          user: `user${i % 50}`,
          infobase: { id: `ib-${i % 3}`, name: 'Accounting' },
          features: ['reports'],
        });
        answers.push({ sentAt, answeredAt: performance.now(), status: res.status, sessionId: res.json?.sessionId, code: res.json?.error?.code });
      } catch (e) {
        failures.push({ sentAt, failedAt: performance.now(), error: String((e as Error).cause ?? e) });
        return;
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    answers,
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
