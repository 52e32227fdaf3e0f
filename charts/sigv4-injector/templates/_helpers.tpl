{{/* Chart name, truncated to 63 characters (the limit of a DNS label and of label values). */}}
{{- define "sigv4-injector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of every object: fullnameOverride, else <release>-<chart> (just <release> when it
already contains the chart name), truncated to 63 characters.
*/}}
{{- define "sigv4-injector.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
<fullname>-<suffix> for the chart's secondary objects: the fullname is cut first, so the suffix
survives and two suffixed names never collide at 63 characters. Call with (list . "suffix").
*/}}
{{- define "sigv4-injector.suffixedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "sigv4-injector.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/* The app.kubernetes.io/* labels of every object. */}}
{{- define "sigv4-injector.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sigv4-injector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/part-of: sigv4-injector
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The immutable subset that selects the webhook pods. */}}
{{- define "sigv4-injector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sigv4-injector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sigv4-injector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sigv4-injector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The webhook image: the digest wins over the tag; the tag defaults to the appVersion. */}}
{{- define "sigv4-injector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The sidecar mode written to the config: auto resolves against the cluster's version. */}}
{{- define "sigv4-injector.sidecarMode" -}}
{{- if eq .Values.sidecarMode "auto" }}
{{- if semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version }}native{{ else }}legacy{{ end }}
{{- else }}
{{- .Values.sidecarMode }}
{{- end }}
{{- end }}

{{/*
The proxy's CA bundle as the config file writes it ({configMap|secret: NAME, key: KEY}), or an
empty dict when none is set. Fails the render on a half-set or doubly-set value, which the binary
would otherwise refuse at start.
*/}}
{{- define "sigv4-injector.proxyCaBundle" -}}
{{- $ca := .Values.injection.proxy.caBundle }}
{{- $out := dict }}
{{- if and $ca.configMap $ca.secret }}
{{- fail "injection.proxy.caBundle: set configMap or secret, not both" }}
{{- else if $ca.configMap }}
{{- $_ := set $out "configMap" $ca.configMap }}
{{- else if $ca.secret }}
{{- $_ := set $out "secret" $ca.secret }}
{{- else if $ca.key }}
{{- fail "injection.proxy.caBundle.key is set but neither configMap nor secret is" }}
{{- end }}
{{- if and $out $ca.key }}
{{- $_ := set $out "key" $ca.key }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The webhook's config file (SPEC §5). Keys the binary knows only; optional strings are written only
when set, so an empty value means "the binary's default" rather than an empty flag. The one
exception is init.image: empty means the webhook's own image as this chart runs it (repository,
digest or tag), which is the binary's default too when the chart's image is the stock one.
excludePorts=null (how `--set` clears a list) is written as [].
*/}}
{{- define "sigv4-injector.config" -}}
{{- $in := .Values.injection }}
{{- $proxy := dict
  "image" $in.proxy.image
  "port" $in.proxy.port
  "uid" $in.proxy.uid
  "upstreamScheme" $in.proxy.upstreamScheme
  "unsignedPayload" $in.proxy.unsignedPayload
  "logFailedRequests" $in.proxy.logFailedRequests
  "logSigningProcess" $in.proxy.logSigningProcess
  "verbose" $in.proxy.verbose
  "allowNodeCredentials" $in.proxy.allowNodeCredentials
  "extraArgs" $in.proxy.extraArgs
  "resources" $in.proxy.resources }}
{{- range $key := list "roleArn" "host" "signHost" }}
{{- with index $in.proxy $key }}
{{- $_ := set $proxy $key . }}
{{- end }}
{{- end }}
{{- with include "sigv4-injector.proxyCaBundle" . | fromJson }}
{{- $_ := set $proxy "caBundle" . }}
{{- end }}
{{- $init := dict
  "image" (default (include "sigv4-injector.image" .) $in.init.image)
  "cidrs" $in.init.cidrs
  "ipv6Cidrs" $in.init.ipv6Cidrs
  "excludePorts" (default list $in.init.excludePorts)
  "includePorts" $in.init.includePorts
  "resources" $in.init.resources }}
{{- $config := dict
  "region" (required "region is required: helm install ... --set region=us-west-2" .Values.region)
  "signingName" $in.signingName
  "sidecarMode" (include "sigv4-injector.sidecarMode" .)
  "ipv6" $in.ipv6
  "iptablesMode" $in.iptablesMode
  "excludeNamespaces" $in.excludeNamespaces
  "proxy" $proxy
  "init" $init }}
{{- with $in.namespaces }}
{{- $_ := set $config "namespaces" . }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* DNS names the serving certificate must carry: the Service's, plus any extra. */}}
{{- define "sigv4-injector.dnsNames" -}}
{{- $svc := include "sigv4-injector.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) }}
{{- toJson (concat $names .Values.certs.extraDnsNames) }}
{{- end }}

{{/* Name of the Secret holding tls.crt and tls.key. */}}
{{- define "sigv4-injector.tlsSecretName" -}}
{{- if and (eq .Values.certs.mode "provided") .Values.certs.provided.existingSecret }}
{{- .Values.certs.provided.existingSecret }}
{{- else }}
{{- include "sigv4-injector.suffixedName" (list . "tls") }}
{{- end }}
{{- end }}

{{/*
Helm-mode certificates as a JSON dict {ca, crt, key} of base64 PEMs. Reuses the existing Secret
when there is one (so upgrades keep the CA the apiserver trusts and pods do not roll), else
generates a CA and a serving cert. Generated once per render and cached on the root context,
because the Secret, the webhook's caBundle and the checksum must all see the same cert.
*/}}
{{- define "sigv4-injector.helmCerts" -}}
{{- if not (hasKey $ "sigv4InjectorCerts") }}
{{- $name := include "sigv4-injector.tlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name }}
{{- $data := dig "data" dict $existing }}
{{- $certs := dict }}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") }}
{{- $certs = dict "ca" (index $data "ca.crt") "crt" (index $data "tls.crt") "key" (index $data "tls.key") }}
{{- else }}
{{- $days := int .Values.certs.helm.validityDays }}
{{- $ca := genCA (include "sigv4-injector.suffixedName" (list . "ca")) $days }}
{{- $dnsNames := include "sigv4-injector.dnsNames" . | fromJsonArray }}
{{- $cert := genSignedCert (first $dnsNames) .Values.certs.extraIpAddresses $dnsNames $days $ca }}
{{- $certs = dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) }}
{{- end }}
{{- $_ := set $ "sigv4InjectorCerts" $certs }}
{{- end }}
{{- toJson (get $ "sigv4InjectorCerts") }}
{{- end }}

{{/* The caBundle (base64 PEM) for helm and provided modes; empty for cert-manager (injected). */}}
{{- define "sigv4-injector.caBundle" -}}
{{- if eq .Values.certs.mode "helm" }}
{{- (include "sigv4-injector.helmCerts" . | fromJson).ca }}
{{- else if eq .Values.certs.mode "provided" }}
{{- required "certs.provided.caBundle is required with certs.mode=provided (the CA the apiserver verifies the webhook with)" .Values.certs.provided.caBundle | b64enc }}
{{- end }}
{{- end }}

{{/*
What the checksum/certs annotation hashes: the cert itself where the chart knows it, else the
settings that determine it (cert-manager rotates in place and the server reloads the files).
*/}}
{{- define "sigv4-injector.certsFingerprint" -}}
{{- if eq .Values.certs.mode "helm" }}
{{- include "sigv4-injector.helmCerts" . }}
{{- else if eq .Values.certs.mode "provided" }}
{{- toJson .Values.certs.provided }}
{{- else }}
{{- toJson (dict "certManager" .Values.certs.certManager "dns" (include "sigv4-injector.dnsNames" .) "ips" .Values.certs.extraIpAddresses) }}
{{- end }}
{{- end }}

{{/* cert-manager names. */}}
{{- define "sigv4-injector.certManager.certificateName" -}}
{{- include "sigv4-injector.suffixedName" (list . "serving") }}
{{- end }}
