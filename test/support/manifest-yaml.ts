/** Manifest texts (YAML as a user writes it) that several config and CLI tests load. */

/** EventSource `webhook` (entry `example` on port 12000) whose authSecret is `<name>/token`. */
export const webhookES = (secretName: string, ns = "") => `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: webhook
${ns ? `  namespace: ${ns}\n` : ""}spec:
  webhook:
    example:
      port: "12000"
      endpoint: /example
      method: POST
      authSecret:
        name: ${JSON.stringify(secretName)}
        key: token
`;

/** Sensor `from-configmap` whose k8s trigger reads its object from ConfigMap `<name>/object.yaml`. */
export const configMapSensor = (name: string, ns = "") => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: from-configmap
${ns ? `  namespace: ${ns}\n` : ""}spec:
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
  triggers:
    - template:
        name: create
        k8s:
          operation: create
          source:
            configmap:
              name: ${JSON.stringify(name)}
              key: object.yaml
`;
