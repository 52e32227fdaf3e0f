//go:build tools

// Package tools pins the Kubernetes commands the e2e and node tiers build (scripts/k8s-tools.sh), so
// that go.sum covers them. scripts/k8s-tools.sh --pin regenerates go.mod and go.sum around it.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
