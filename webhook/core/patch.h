#pragma once

#include <string>
#include <string_view>

#include "codec/base64.h"
#include "codec/json.h"
#include "codec/json_doc.h"
#include "config.h"

namespace sigv4 {

// The JSON Pointer reference token for a key: `~` -> `~0` first, then `/` -> `~1`.
std::string escape_json_pointer(std::string_view token);

// The RFC 6902 patch (only `add` operations) injecting the two containers and the status
// annotations into `pod`, creating missing arrays and maps first, as compact JSON text (what
// the webhook sends). Never removes or reorders anything of the user's. `version` goes into the
// `sigv4-injector.io/version` annotation.
// When `base64` is given, it receives the patch's base64, mostly copied from the containers'
// cached encodings.
std::string injection_patch(const JsonNode& pod, const Config& settings, std::string_view version,
                            std::string* base64 = nullptr);

// For an already-injected pod: `add` operations copying AWS credential env and token mounts
// that appeared on the app container since injection (another webhook ran after us) into the
// sidecar. Empty when there is nothing to copy, so re-invocation is idempotent.
Json credential_sync_patch(const JsonNode& pod);

}  // namespace sigv4
