/*
 * Puts stdin/stdout on a pseudo-terminal linked at a path of the caller's choosing,
 * so an in-process board (the virtual Firmata board) is reachable as a serial port.
 * Prints "ready <pty>" on stdout first; after that stdout carries only the bytes
 * the host wrote. Exits when stdin closes; the host then sees the port go away.
 *
 * The relay keeps its own handle on the slave side, in raw mode: without it a read
 * on the master fails with EIO whenever no host has the port open.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char *link_path;
static void cleanup(void) {
  if (link_path) unlink(link_path);
}
static void on_signal(int sig) {
  (void)sig;
  exit(0);
}

static int write_all(int fd, const char *buf, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, (size_t)n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    buf += w;
    n -= w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <pty link path>\n", argv[0]);
    return 2;
  }
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return 3;
  const char *name = ptsname(master);
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) return 4;
  struct termios t;
  tcgetattr(slave, &t);
  cfmakeraw(&t);
  tcsetattr(slave, TCSANOW, &t);

  link_path = argv[1];
  unlink(link_path);
  if (symlink(name, link_path) != 0) {
    fprintf(stderr, "pty-relay: cannot link %s: %s\n", link_path, strerror(errno));
    return 5;
  }
  atexit(cleanup);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  printf("ready %s\n", name);
  fflush(stdout);

  char buf[4096];
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = master, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 6;
    }
    if (fds[0].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) return 0;
      if (write_all(master, buf, n) != 0) return 7;
    }
    if (fds[1].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0 && write_all(1, buf, n) != 0) return 0;
    }
  }
}
