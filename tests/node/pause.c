/* pause: the sandbox ("pause") container's process for the real-node tier.
 *
 * Holds the pod's namespaces open: sleeps until SIGTERM or SIGINT, then exits 0.
 * As pid 1 of a pod that shares its pid namespace it also reaps orphaned
 * children (SIGCHLD). Built static so the image is this one file:
 *
 *     gcc -static -Os -s -o pause pause.c
 *
 * `pause -- CMD ARGS...` is the same program as the node's own init: pid 1 of
 * the namespaces tests/node/node.py makes. It runs CMD as its child, passes
 * SIGTERM and SIGINT on to it, reaps every orphan (containerd's shims end up
 * here) and exits with CMD's status; the kernel then kills whatever is left in
 * the pid namespace.
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

static pid_t child = -1;

static void pass_on(int sig) {
    if (child > 0)
        kill(child, sig);
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

/* init mode: run argv as the child, reap everything, exit as the child did */
static int init(char **argv) {
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    child = fork();
    if (child < 0) {
        say(2, "pause: fork failed\n");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[0], argv);
        say(2, "pause: exec failed\n");
        _exit(127);
    }
    if (on(SIGTERM, pass_on, 0) || on(SIGINT, pass_on, 0))
        return 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0 && errno == ECHILD)
            return 1;
        if (pid == child)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        say(1, "pause (sigv4-injector tests/node)\n");
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--") == 0)
        return init(argv + 2);
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
