import { Token } from 'aws-cdk-lib';
import { instanceSizeOf } from './instance-size';

/**
 * The memory model of a proxy instance. The per-tunnel figures are the largest that bench/memory.ts
 * measured at 1,000, 5,000 and 10,000 tunnels (docs/BENCHMARKS.md, section 4: Squid 5.7 running the
 * rendered configuration with PROXY protocol v2 and TLS peek and splice), rounded up.
 */
export const MEMORY_MODEL = {
  /** Squid's resident memory per idle tunnel (CONNECT answered, TLS handshake done), KiB. */
  squidKiBPerIdleTunnel: 56,
  /** Squid's resident memory per tunnel once it has carried 64 KiB each way, KiB. Squid keeps it after the tunnel closes. */
  squidKiBPerActiveTunnel: 160,
  /** Kernel memory per tunnel (two sockets and their buffers), KiB; an estimate. */
  kernelKiBPerTunnel: 22,
  /** Squid's descriptor table, per tunnel (three descriptors' worth per tunnel, at about 0.5 KiB each), KiB. */
  descriptorTableKiBPerTunnel: 2,
  /** Amazon Linux 2023 with the SSM and CloudWatch agents, cfn-hup and Squid's own baseline, MiB. */
  reservedMiB: 512,
  /** Squid's baseline per worker, MiB. */
  reservedMiBPerWorker: 64,
  /** The share of the remaining memory tunnels may use; the rest is the kernel's slack and page cache. */
  tunnelShare: 0.8,
} as const;

/** Concurrent connections one NLB target accepts (per target IP and port). */
export const NLB_TARGET_CONNECTIONS = 55_000;

/** Below this many concurrent tunnels per instance, synthesis warns that the instance type is too small. */
const USEFUL_MINIMUM_CONNECTIONS = 1_000;

/** What {@link sizeProxyInstance} needs. */
export interface SizingInput {
  /** The instance type's name (may be a token). */
  readonly instanceType: string;
  /** Squid workers. */
  readonly workers: number;
  /** The user's cap, when set. */
  readonly maxConnectionsPerInstance?: number;
}

/** How a proxy instance is sized. */
export interface ProxySizing {
  /** The instance's memory, as the table knows it or as assumed. */
  readonly memoryMiB: number;
  /** Whether the memory came from the table (false: assumed, with a warning). */
  readonly memoryKnown: boolean;
  /** Tunnels that fit in memory if all are idle. */
  readonly idleTunnels: number;
  /** Tunnels that fit in memory once all have carried data: the derived cap. */
  readonly activeTunnels: number;
  /** Concurrent connections the instance accepts on the proxy port; more get a TCP reset. */
  readonly maxConnections: number;
  /** `max_filedescriptors` of each Squid worker and the service's `LimitNOFILE`. */
  readonly maxFileDescriptors: number;
  /** Soft problems, by warning ID suffix. */
  readonly warnings: Array<{ readonly id: string; readonly message: string }>;
}

/**
 * Size an instance by its memory: the connection cap is what fits once every tunnel has carried
 * data (Squid keeps that memory), so the kernel never kills Squid for lack of memory, at most an
 * NLB target's 55,000. Each worker may open descriptors for 1.5 times its share of the cap (two
 * per tunnel): the kernel spreads connections over the workers unevenly, and a worker at its
 * limit only stops accepting while the others take the connections.
 */
export function sizeProxyInstance(input: SizingInput): ProxySizing {
  const cap = input.maxConnectionsPerInstance;
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 1 || cap > NLB_TARGET_CONNECTIONS)) {
    throw new Error(
      `Invalid maxConnectionsPerInstance ${cap}: expected a whole number from 1 to ${NLB_TARGET_CONNECTIONS} ` +
        '(an NLB target accepts about 55,000 concurrent connections)',
    );
  }
  const warnings: Array<{ id: string; message: string }> = [];
  const known = Token.isUnresolved(input.instanceType) ? undefined : instanceSizeOf(input.instanceType);
  const memoryMiB = known?.memoryMiB ?? 2048 * input.workers;
  if (!known) {
    warnings.push({
      id: 'instanceMemoryUnknown',
      message:
        `The memory of instance type ${input.instanceType} is not in this library's table: the proxy is sized as if it had ` +
        `${memoryMiB / 1024} GiB (2 GiB per worker). Set maxConnectionsPerInstance to the tunnels one instance can hold.`,
    });
  }
  const m = MEMORY_MODEL;
  const usableKiB =
    Math.max(0, memoryMiB - m.reservedMiB - input.workers * m.reservedMiBPerWorker) * 1024 * m.tunnelShare;
  const perTunnel = m.kernelKiBPerTunnel + m.descriptorTableKiBPerTunnel;
  const idleTunnels = Math.floor(usableKiB / (m.squidKiBPerIdleTunnel + perTunnel));
  const activeTunnels = Math.floor(usableKiB / (m.squidKiBPerActiveTunnel + perTunnel));
  const derived = Math.min(activeTunnels, NLB_TARGET_CONNECTIONS);
  const maxConnections = input.maxConnectionsPerInstance ?? Math.max(derived, 1);
  if (input.maxConnectionsPerInstance === undefined && derived < USEFUL_MINIMUM_CONNECTIONS) {
    warnings.push({
      id: 'instanceTooSmall',
      message:
        `Instance type ${input.instanceType} (${formatGiB(memoryMiB)}) holds only about ${derived} active tunnels; ` +
        `new connections above that are refused. Choose an instance type with more memory (c7gn.medium holds about ` +
        `${sizeProxyInstance({ instanceType: 'c7gn.medium', workers: 1 }).maxConnections}).`,
    });
  }
  if (input.maxConnectionsPerInstance !== undefined && input.maxConnectionsPerInstance > activeTunnels) {
    warnings.push({
      id: 'maxConnectionsOvercommit',
      message:
        `maxConnectionsPerInstance ${input.maxConnectionsPerInstance} exceeds the about ${activeTunnels} active tunnels ` +
        `${input.instanceType} holds in memory: if the tunnels carry data, the kernel may kill Squid and drop every tunnel of the instance.`,
    });
  }
  const perWorker = Math.ceil(((2 * maxConnections) / input.workers) * 1.5);
  const maxFileDescriptors = Math.ceil((perWorker + 1024) / 1024) * 1024;
  return { memoryMiB, memoryKnown: !!known, idleTunnels, activeTunnels, maxConnections, maxFileDescriptors, warnings };
}

function formatGiB(mib: number): string {
  return `${Number((mib / 1024).toFixed(2))} GiB`;
}
