#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "json.h"
#include "mutator.h"

namespace sigv4 {

// What happened to one pod (template) of a manifest.
struct InjectReport {
  std::string where;  // "deploy.yaml: document 1 items[0] (Deployment app1/web)"
  Mutation mutation;  // decision, warnings (patch already applied)
};

// Injects, in place, into every Pod and workload pod template of `documents` (recursing into
// `kind: List` items) with the /mutate rules; other objects are left untouched. Returns one report
// per pod (template) found. An object's namespace is its metadata.namespace, else
// `default_namespace` (kubectl's -n). Throws InputError naming `source`, the document index and
// the field when a pod carries an invalid override.
std::vector<InjectReport> inject_documents(std::vector<Json>& documents, const Config& config,
                                           std::string_view source,
                                           std::string_view default_namespace = {});

}  // namespace sigv4
