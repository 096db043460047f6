// How a call into a link says it is still receiving its answer: each row a
// list delivers counts, so a link's deadline measures silence, not the size
// of the answer (docs/chain.md, Deadlines and hangs). A store that sends
// nothing is still given up on after the deadline; one busy sending 100,000
// rows is not.
#pragma once

namespace muster::core {

// Moves the deadline of the call running on this thread (a LinkRunner's)
// to a full limit from now; does nothing on any other thread. Cheap enough
// to call per row. Returns false once the caller has stopped waiting (the
// call was silent past its deadline): its answer will be dropped, so a list
// should stop reading and free the link for the next call. True on any
// other thread.
bool note_call_progress() noexcept;

}  // namespace muster::core
