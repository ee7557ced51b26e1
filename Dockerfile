# agentloupe: `loupe serve` in a container (deploy/k8s/ runs it).
#   docker build -t agentloupe:0.1.0 .
#   docker run -p 8080:8080 agentloupe:0.1.0
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agentloupe ./agentloupe
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --uid 10001 --create-home agentloupe
USER 10001
WORKDIR /home/agentloupe
ENV PYTHONUNBUFFERED=1 \
    AGENTLOUPE_HOME=/tmp/agentloupe
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["loupe", "serve", "--host", "0.0.0.0", "--port", "8080"]
