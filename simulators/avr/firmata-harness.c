/*
 * Runs a firmware hex (StandardFirmata) on an emulated ATmega328P at 16 MHz with
 * simavr, puts UART0 on a pseudo-terminal and links it at a path of the caller's
 * choosing. Reads commands on stdin, one per line, applied between instruction
 * batches on the emulator's own thread (avr_raise_irq is not thread-safe):
 *   adc <channel 0-5> <millivolts>   drive an analog input
 *   pin <arduino pin 0-19> <0|1>     drive a digital input level
 *   quit                             exit (stdin closing does the same)
 * Prints "ready <pty>" on stdout once the port exists.
 *
 * uart_pty_stop() can hang on its reader thread, so the harness exits without it:
 * the kernel closes the pty with the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <simavr/avr_adc.h>
#include <simavr/avr_ioport.h>
#include <simavr/parts/uart_pty.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_hex.h>

static const char *link_path;
static volatile sig_atomic_t quit_requested;

static void on_signal(int sig) {
  (void)sig;
  quit_requested = 1;
}

static void cleanup(void) {
  if (link_path) unlink(link_path);
}

static int load_hex(avr_t *avr, const char *path) {
  ihex_chunk_p chunks = NULL;
  int n = read_ihex_chunks(path, &chunks);
  if (n <= 0) return -1;
  for (int i = 0; i < n; i++) {
    // Only flash chunks (below 0x800000) matter for an Uno sketch.
    if (chunks[i].baseaddr < 0x800000) {
      avr_loadcode(avr, chunks[i].data, chunks[i].size, chunks[i].baseaddr);
      if (i == 0) avr->pc = chunks[i].baseaddr;
    }
    free(chunks[i].data);
  }
  free(chunks);
  return 0;
}

/* Arduino Uno numbering: D0-7 = PD0-7, D8-13 = PB0-5, D14-19 (A0-A5) = PC0-5. */
static avr_irq_t *pin_irq(avr_t *avr, int pin) {
  char port;
  int bit;
  if (pin >= 0 && pin <= 7) port = 'D', bit = pin;
  else if (pin >= 8 && pin <= 13) port = 'B', bit = pin - 8;
  else if (pin >= 14 && pin <= 19) port = 'C', bit = pin - 14;
  else return NULL;
  return avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit);
}

static void handle_line(avr_t *avr, char *line) {
  int a, b;
  if (sscanf(line, "adc %d %d", &a, &b) == 2 && a >= 0 && a <= 7) {
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + a), (uint32_t)b);
  } else if (sscanf(line, "pin %d %d", &a, &b) == 2 && pin_irq(avr, a)) {
    avr_raise_irq(pin_irq(avr, a), b ? 1 : 0);
  } else if (strncmp(line, "quit", 4) == 0) {
    quit_requested = 1;
  } else {
    fprintf(stderr, "harness: unknown command: %s\n", line);
  }
}

/* Non-blocking read of whole lines from stdin. */
static void poll_stdin(avr_t *avr) {
  static char buf[512];
  static size_t len;
  struct pollfd p = {.fd = 0, .events = POLLIN};
  if (poll(&p, 1, 0) <= 0) return;
  ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) quit_requested = 1;
    return;
  }
  len += (size_t)n;
  buf[len] = 0;
  char *start = buf, *nl;
  while ((nl = strchr(start, '\n'))) {
    *nl = 0;
    handle_line(avr, start);
    start = nl + 1;
  }
  len = strlen(start);
  memmove(buf, start, len);
  if (len == sizeof(buf) - 1) len = 0; /* a line that long is garbage: drop it */
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <firmware.hex> <pty link path>\n", argv[0]);
    return 2;
  }
  avr_t *avr = avr_make_mcu_by_name("atmega328p");
  if (!avr) return 3;
  avr_init(avr);
  avr->frequency = 16000000;
  // Millivolts: the ADC compares injected inputs against these references.
  avr->vcc = avr->avcc = avr->aref = 5000;
  if (load_hex(avr, argv[1]) != 0) {
    fprintf(stderr, "harness: cannot read %s\n", argv[1]);
    return 4;
  }
  avr->log = LOG_ERROR;

  static uart_pty_t uart;
  uart_pty_init(avr, &uart);
  uart_pty_connect(&uart, '0');

  // uart_pty always links /tmp/simavr-uart0, which other runs share: link our own path.
  link_path = argv[2];
  unlink(link_path);
  if (symlink(uart.pty.slavename, link_path) != 0) {
    fprintf(stderr, "harness: cannot link %s: %s\n", link_path, strerror(errno));
    return 5;
  }
  atexit(cleanup);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  printf("ready %s\n", uart.pty.slavename);
  fflush(stdout);

  for (unsigned long i = 0; !quit_requested; i++) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) break;
    if ((i & 0x3fff) == 0) poll_stdin(avr);
  }
  return 0;
}
