# syntax=docker/dockerfile:1
# Atrium: one static binary on distroless (no shell, no package manager).
# Build: docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#          --build-arg BUILD_DATE=$(date -u +%FT%TZ) -t atrium:1.2.3 .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=""
ARG BUILD_DATE=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/atrium ./cmd/atrium \
 && /out/atrium version

# distroless/static ships CA certificates, tzdata and a nonroot user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/atrium /usr/local/bin/atrium
USER nonroot:nonroot
ENV ATRIUM_HTTP_ADDR=0.0.0.0:8080 \
    ATRIUM_DATA_DIR=/var/lib/atrium
VOLUME ["/var/lib/atrium"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/atrium", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/atrium"]
CMD ["serve"]
