// Non-blocking ZeroMQ calls that take EINTR for what it is. A signal that
// arrives during a call (the SIGTERM asking a coordinator or agent to stop)
// makes libzmq fail it with EINTR, which cppzmq throws like a broken socket;
// here it means "nothing happened, try again on the next turn". Header-only:
// used by components that link cppzmq.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <iterator>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace graphene {

// Sends one frame without blocking; false if the socket cannot take it now.
inline bool TrySend(zmq::socket_t& socket, zmq::const_buffer frame,
                    zmq::send_flags flags = zmq::send_flags::none) {
  try {
    return socket.send(frame, flags | zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
}

// Sends the rest of a multipart message whose first frame went out: it must
// go too, so an interrupted attempt is repeated.
inline bool SendRemainder(zmq::socket_t& socket, zmq::const_buffer frame) {
  while (true) {
    try {
      return socket.send(frame, zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

// Receives one whole message without blocking; false if none is ready.
inline bool TryReceiveMultipart(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
  try {
    return zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)
        .has_value();
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
}

// For helper threads: leaves SIGINT and SIGTERM to the main thread, whose
// handlers ask the process to stop, so that they never interrupt a helper's
// ZeroMQ calls.
inline void LeaveStopSignalsToMainThread() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
}

}  // namespace graphene
