/** The pod-spec shapes the plugin reads and writes: containers, their resources and security context, volumes. */

/** A container as the plugin reads it. */
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
  }>;
  envFrom?: Array<{ prefix?: string; secretRef?: { name: string }; configMapRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
  securityContext?: SecurityContext;
  readinessProbe?: { initialDelaySeconds?: number; periodSeconds?: number };
  resources?: ContainerResources;
}

/** A container's CPU and memory (and other resources) as the spec writes them: quantities such as `500m`, `2Gi`. */
export interface ContainerResources {
  requests?: { cpu?: string; memory?: string; [name: string]: string | undefined };
  limits?: { cpu?: string; memory?: string; [name: string]: string | undefined };
}

/** The securityContext fields that decide who the Job runs as. */
export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
}

/** A Secret key projected into a volume as a file at `path` (relative to the mount). */
export interface KeyToPath {
  key: string;
  path: string;
}

/** A pod template's or a pod's spec. */
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  nodeName?: string;
  terminationGracePeriodSeconds?: number;
  /** Where the pods may run and what they may pull: copied as they are to a new instance beside the database. */
  imagePullSecrets?: Array<{ name: string }>;
  nodeSelector?: Record<string, string>;
  tolerations?: object[];
  affinity?: object;
  volumes?: Array<{
    name: string;
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName?: string; items?: KeyToPath[] };
    projected?: { sources?: Array<{ secret?: { name: string; items?: KeyToPath[] } }> };
  }>;
}
