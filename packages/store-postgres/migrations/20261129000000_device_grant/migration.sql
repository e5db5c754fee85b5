-- CreateTable
CREATE TABLE "device_grant" (
    "device_code_hash" TEXT NOT NULL,
    "user_code" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL,
    "expires_at" BIGINT NOT NULL,
    "interval" INTEGER NOT NULL,
    "last_polled_at" BIGINT,
    "subject" TEXT,
    "granted_scope" TEXT,
    "decided_at" BIGINT,
    "ip" TEXT,
    "user_agent" TEXT,

    CONSTRAINT "device_grant_pkey" PRIMARY KEY ("device_code_hash")
);

-- CreateIndex
CREATE UNIQUE INDEX "device_grant_user_code_key" ON "device_grant"("user_code");

-- CreateIndex
CREATE INDEX "device_grant_expires_at_idx" ON "device_grant"("expires_at");
