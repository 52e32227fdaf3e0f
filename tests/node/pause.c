/* pause: the sandbox ("pause") container's process for the real-node tier.
 *
 * Holds the pod's namespaces open: sleeps until SIGTERM or SIGINT, then exits 0.
 * As pid 1 of a pod that shares its pid namespace it also reaps orphaned
 * children (SIGCHLD). Built static so the image is this one file:
 *
 *     gcc -static -Os -s -o pause pause.c
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig) {
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

static void quit(int sig) {
    (void)sig;
    _exit(0);
}

static void say(int fd, const char *msg) {
    ssize_t r = write(fd, msg, strlen(msg));
    (void)r;
}

static int on(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        say(1, "pause (sigv4-injector tests/node)\n");
        return 0;
    }
    if (on(SIGTERM, quit, 0) || on(SIGINT, quit, 0) ||
        on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART)) {
        say(2, "pause: sigaction failed\n");
        return 1;
    }
    if (getpid() != 1)
        say(2, "pause: warning: not pid 1\n");
    for (;;)
        pause();
}
