# OllamaSocketProxy as a Native AOT binary on the smallest .NET base image.
#
#   docker-compose up -d --build            (see docker-compose.yml)
#   docker build -t ollama-socket-proxy .   (then: docker run --env-file .env -p 127.0.0.1:11434:11434 ollama-socket-proxy)
#
# Both stages use the same Ubuntu release (-noble), so the binary links against the glibc it runs on.

# ---- build -------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build

# Native AOT links with the platform toolchain: clang, and zlib for the runtime's compression support.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# .ci/run runs this exact line (it reads it from this file), so keep it one line starting with "RUN dotnet publish".
# --use-current-runtime: linux-x64 on x64 hosts, linux-arm64 on arm64 hosts (Native AOT does not cross-compile).
RUN dotnet publish src/Listener/Listener.csproj -c Release --use-current-runtime -p:PublishAot=true -o publish

# ---- runtime -----------------------------------------------------------------------------------
# runtime-deps: glibc, OpenSSL, CA certificates and a non-root user "app"; no .NET runtime needed.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble AS runtime

WORKDIR /app
# SQLite (the usage database) is a native library the binary loads from its own folder: it ships beside it.
COPY --from=build /src/publish/OllamaSocketProxy /src/publish/libe_sqlite3.so /app/

# The usage database lives in /data, a volume (docker-compose.yml names it), so the root file system can stay
# read-only; a named volume takes this folder's owner, the app user, when it is first mounted.
RUN mkdir -p /data && chown "$APP_UID" /data
ENV PROXY_USAGE_DB=/data/usage.db

# Inside a container, loopback is unreachable from outside: listen on all interfaces and let the
# port publication (docker-compose.yml: 127.0.0.1 by default) decide who can reach it.
ENV PROXY_LISTEN=0.0.0.0:11434
# The admin listener (README.md#usage-and-metrics) stays on the container's loopback unless docker-compose.yml
# moves it to all interfaces, which it does only when PROXY_ADMIN_TOKEN is set.
EXPOSE 11434 11435

USER $APP_UID

# GET / is answered by the proxy itself (no token, nothing sent upstream), as Ollama answers it.
HEALTHCHECK --interval=60s --timeout=5s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PROXY_LISTEN##*:} && printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -q 'Ollama is running' <&3"]

ENTRYPOINT ["/app/OllamaSocketProxy"]
