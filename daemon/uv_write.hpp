// One write on a libuv stream, of a string the write owns until it is done.
#pragma once

#include <uv.h>

#include <string>

namespace jobd {

// uv_write's result: nonzero if the write could not even be queued (the
// data is then freed at once). Errors that come later are the reader's to
// see, as the end of the stream.
inline int write_owned(uv_stream_t* stream, std::string data) {
  struct Write {
    uv_write_t req{};
    std::string data;
  };
  auto* w = new Write{{}, std::move(data)};
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  const int rc =
      uv_write(&w->req, stream, &buf, 1, [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
  if (rc != 0) delete w;
  return rc;
}

}  // namespace jobd
