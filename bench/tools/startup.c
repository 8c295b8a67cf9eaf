// Start-up time of a server: runs COMMAND and polls 127.0.0.1:PORT with TCP connects every
// 100 microseconds from the moment before fork/exec. Prints the time to the first accepted
// connection and to the first byte of an answer to "GET /" on it, then stops the server
// (SIGTERM, then SIGKILL after 5 s).
//
// usage: startup PORT TIMEOUT_MS LOG_FILE -- COMMAND [ARGS...]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void stop(pid_t pid) {
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: startup PORT TIMEOUT_MS LOG_FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double timeout_ms = atof(argv[2]);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);

    double start = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int log = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) { dup2(log, 1); dup2(log, 2); }
        execvp(argv[5], argv + 5);
        _exit(127);
    }

    double connected = -1, answered = -1;
    int fd = -1;
    while (now_ms() - start < timeout_ms) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) { connected = now_ms() - start; break; }
        close(fd);
        fd = -1;
        if (waitpid(pid, NULL, WNOHANG) == pid) { fprintf(stderr, "startup: the server exited\n"); return 1; }
        struct timespec pause = { 0, 100000 };
        nanosleep(&pause, NULL);
    }
    if (fd < 0) { fprintf(stderr, "startup: no connection within %.0f ms\n", timeout_ms); stop(pid); return 1; }

    struct timeval receive_timeout = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof receive_timeout);
    const char *request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    char buffer[64] = { 0 };
    if (write(fd, request, strlen(request)) > 0 && read(fd, buffer, sizeof buffer - 1) > 0) answered = now_ms() - start;
    close(fd);
    stop(pid);
    printf("connect_ms=%.2f response_ms=%.2f status=%.3s\n", connected, answered, buffer[0] ? buffer + 9 : "---");
    return answered < 0;
}
