# A static dsr binary on a minimal, non-root image.
#   docker build -t dsr-intake .
#   docker run --rm -v /etc/dsr:/etc/dsr:ro -v dsr-data:/var/lib/dsr -p 127.0.0.1:8080:8080 dsr-intake
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/dsr ./cmd/dsr

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dsr /usr/local/bin/dsr
ENV DSR_CONFIG=/etc/dsr/dsr.toml
WORKDIR /var/lib/dsr
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dsr"]
CMD ["run"]
