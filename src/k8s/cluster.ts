import type { PodSpec } from './pod-spec.ts';
import type { LabelRequirement } from './selector.ts';
/**
 * The narrow view of a cluster that commands work with. Only src/k8s/client.ts implements it with
 * @kubernetes/client-node; logic takes a Cluster as a parameter, so tests can hand it the real test cluster or an
 * in-memory double of this interface.
 */

/** Metadata every object has. */
export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  creationTimestamp?: string | Date;
  ownerReferences?: Array<{ kind: string; name: string }>;
  /** Who set which field (server-side field management): read to find the controllers of replicas and image. */
  managedFields?: Array<{ manager?: string; operation?: string; subresource?: string; fieldsV1?: unknown }>;
}

/** A StatefulSet or Deployment. */
export interface Workload {
  kind: 'StatefulSet' | 'Deployment';
  metadata: Meta;
  replicas: number;
  selector: Record<string, string>;
  /** spec.selector.matchExpressions, when it has any: the workload's pods satisfy these too. */
  matchExpressions?: LabelRequirement[];
  template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  volumeClaimTemplates: string[];
  /** A Deployment's spec.strategy (the apiserver fills in RollingUpdate 25%/25% when unset); none for a StatefulSet. */
  strategy?: DeploymentStrategy;
}

/** A Deployment's update strategy. */
export interface DeploymentStrategy {
  type?: string;
  rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
}

/** A pod. */
export interface Pod {
  metadata: Meta;
  spec: PodSpec;
  phase: string;
  ready: boolean;
  podIP?: string;
  /** Restarts of each container, by name (status.containerStatuses[].restartCount). */
  restarts?: Record<string, number>;
}

/** A PersistentVolumeClaim. */
export interface Pvc {
  metadata: Meta;
  storageClassName?: string;
  accessModes: string[];
  capacityBytes?: number;
  /** spec.resources.requests.storage: what its user asked for. */
  requestBytes?: number;
  volumeName?: string;
}

/** The result of a command run in a container. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One access question, as SelfSubjectAccessReview asks it. */
export interface AccessQuestion {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** Any object as the apiserver returns it (VolumeSnapshots, PVCs, ConfigMaps the plugin creates). */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: Meta & { deletionTimestamp?: string | Date };
  spec?: Record<string, any>;
  status?: Record<string, any>;
  data?: Record<string, string>;
  /** A ConfigMap's binary values, base64-encoded. */
  binaryData?: Record<string, string>;
}

/** Where an object is. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** A VolumeSnapshotClass, reduced. */
export interface SnapshotClass {
  name: string;
  driver: string;
  isDefault: boolean;
  deletionPolicy: string;
}

/** The cluster operations the commands use. */
export interface Cluster {
  readonly contextName: string;
  readonly namespace: string;
  serverVersion(): Promise<string>;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  listWorkloads(ns: string): Promise<Workload[]>;
  getWorkload(ns: string, kind: Workload['kind'], name: string): Promise<Workload | undefined>;
  /** The pods of the namespace, or those that matchLabels `selector` and every term of `expressions` select. */
  listPods(ns: string, selector?: Record<string, string>, expressions?: LabelRequirement[]): Promise<Pod[]>;
  getPvc(ns: string, name: string): Promise<Pvc | undefined>;
  /** The CSI driver (provisioner) of a StorageClass. */
  storageClassProvisioner(name: string): Promise<string | undefined>;
  /** The drivers that have a VolumeSnapshotClass; undefined when the VolumeSnapshot API is not installed. */
  snapshotClassDrivers(): Promise<string[] | undefined>;
  /** The VolumeSnapshotClasses; undefined when the VolumeSnapshot API is not installed. */
  snapshotClasses(): Promise<SnapshotClass[] | undefined>;
  /** Creates an object built by src/manifests; returns it as stored. */
  createObject(o: KObject): Promise<KObject>;
  /** Reads an object, or undefined when it does not exist. */
  readObject(ref: ObjectRef): Promise<KObject | undefined>;
  /** Lists objects of a kind in a namespace, by label selector (`k=v,k2=v2`). */
  listObjects(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KObject[]>;
  /**
   * Deletes an object; one already gone is fine. Background propagation: a Job's pods go with it. `preconditions`:
   * only that very object (UID) as last read (resourceVersion); otherwise the apiserver answers 409 and nothing goes.
   */
  deleteObject(ref: ObjectRef, preconditions?: { uid?: string; resourceVersion?: string }): Promise<void>;
  /** Patches an object: a JSON merge patch, or a strategic merge patch (containers merged by name). */
  patchObject(ref: ObjectRef, patch: object, strategy: 'merge' | 'strategic'): Promise<KObject>;
  /** A container's log, or its last lines; `previous`: its last terminated run's. */
  podLog(ns: string, pod: string, container: string, tailLines?: number, previous?: boolean): Promise<string>;
  /** Follows a container's log until it ends (or abort is called), handing over each chunk of text. */
  followLog(
    ns: string,
    pod: string,
    container: string,
    onText: (text: string) => void,
  ): { done: Promise<void>; abort(): void };
  /** A Secret's metadata only (labels, owner, UID), never its data; undefined when it does not exist. */
  secretMetadata(ns: string, name: string): Promise<KObject | undefined>;
  /** A Secret's value, decoded; it stays in memory and is never printed. */
  readSecretKey(ns: string, name: string, key: string): Promise<string | undefined>;
  /** SelfSubjectAccessReview for each question, in order. */
  canI(questions: AccessQuestion[]): Promise<boolean[]>;
  /** Runs a command in a container; stdin (e.g. a password) never appears on the command line. */
  exec(
    ns: string,
    pod: string,
    container: string,
    command: string[],
    stdin?: string,
    onStdout?: (text: string) => void,
  ): Promise<ExecResult>;
  /** Creates a pod from a manifest built by src/manifests. */
  createPod(ns: string, manifest: object): Promise<void>;
  /** Deletes a pod with a grace period; a pod already gone is fine. */
  deletePod(ns: string, name: string, graceSeconds: number): Promise<void>;
  /** The pod's phase, readiness, whether its first container runs, and why it waits or ended; undefined when it is gone. */
  podState(
    ns: string,
    name: string,
  ): Promise<{ phase: string; ready: boolean; running: boolean; reason?: string } | undefined>;
}
