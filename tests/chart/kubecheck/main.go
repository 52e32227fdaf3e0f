// kubecheck validates Kubernetes manifests offline and converts them to JSON.
//
//	kubecheck [-o json] [-allow-kind KIND]... FILE|-
//	kubecheck -yaml-to-json FILE|-
//
// Each YAML document is decoded strictly into its real k8s.io/api type (unknown or duplicate
// fields and wrong types are errors, as in kubectl's client-side validation), and its metadata is
// checked with apimachinery's validation (name, namespace, labels, annotations). Kinds not in the
// client-go scheme (CRDs such as cert-manager's) fail unless named with -allow-kind, in which case
// they are only checked to be well-formed objects. With -o json the documents are printed as one
// JSON array, so scripts without a YAML parser can inspect them. Exit 0 when every document is
// valid, 1 otherwise (one line per problem on stderr), 2 on bad usage. -yaml-to-json only converts
// (any YAML, not just Kubernetes objects), for tests that inspect a config file.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

type kinds []string

func (k *kinds) String() string     { return strings.Join(*k, ",") }
func (k *kinds) Set(v string) error { *k = append(*k, v); return nil }

// Objects without a namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "PriorityClass": true, "ClusterIssuer": true,
	"CustomResourceDefinition": true, "StorageClass": true, "PersistentVolume": true,
}

func main() {
	output := flag.String("o", "", "print the documents as a JSON array (\"json\")")
	var allowed kinds
	flag.Var(&allowed, "allow-kind", "accept this kind without a typed schema (repeatable)")
	convertOnly := flag.Bool("yaml-to-json", false, "only convert the documents to a JSON array")
	flag.Parse()
	if flag.NArg() != 1 || (*output != "" && *output != "json") {
		fmt.Fprintln(os.Stderr, "usage: kubecheck [-o json] [-allow-kind KIND]... FILE|-\n"+
			"       kubecheck -yaml-to-json FILE|-")
		os.Exit(2)
	}
	in, err := open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecheck:", err)
		os.Exit(2)
	}
	if *convertOnly {
		*output = "json"
	}
	docs, problems := check(in, allowed, !*convertOnly)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "kubecheck:", p)
	}
	if *output == "json" {
		if docs == nil {
			docs = []json.RawMessage{}
		}
		out, _ := json.MarshalIndent(docs, "", "  ")
		fmt.Println(string(out))
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func open(name string) (io.Reader, error) {
	if name == "-" {
		return os.Stdin, nil
	}
	return os.Open(name)
}

// check returns every non-empty document as JSON and the problems found.
func check(in io.Reader, allowed kinds, validate bool) ([]json.RawMessage, []string) {
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var docs []json.RawMessage
	var problems []string
	for index := 0; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return docs, append(problems, fmt.Sprintf("document %d: %v", index, err))
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		doc, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", index, err))
			continue
		}
		docs = append(docs, doc)
		if validate {
			problems = append(problems, checkDoc(index, doc, strict, allowed)...)
		}
	}
	return docs, problems
}

func checkDoc(index int, doc []byte, strict runtime.Decoder, allowed kinds) []string {
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(doc); err != nil {
		return []string{fmt.Sprintf("document %d: %v", index, err)}
	}
	where := fmt.Sprintf("document %d (%s %s)", index, u.GetKind(), u.GetName())
	gvk := u.GroupVersionKind()
	var problems []string
	if scheme.Scheme.Recognizes(gvk) {
		if _, _, err := strict.Decode(doc, nil, nil); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
		}
	} else if !contains(allowed, gvk.Kind) {
		problems = append(problems, fmt.Sprintf("%s: unknown kind %s (no schema; -allow-kind to accept)", where, gvk))
	}
	var withMeta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(doc, &withMeta); err != nil {
		return append(problems, fmt.Sprintf("%s: metadata: %v", where, err))
	}
	namespaced := !clusterScoped[gvk.Kind]
	for _, err := range apivalidation.ValidateObjectMeta(&withMeta.Metadata, namespaced,
		apivalidation.NameIsDNSSubdomain, field.NewPath("metadata")) {
		problems = append(problems, fmt.Sprintf("%s: %v", where, err))
	}
	return problems
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stripComments drops comment-only lines, so a document of comments alone counts as empty.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
