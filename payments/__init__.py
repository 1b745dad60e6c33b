"""Payments for orders: the buyer funds the order, the creator is paid on completion.

Stripe Connect "separate charges and transfers": a PaymentIntent on the platform account, a
Transfer to the creator's connected account when the order completes, refunds (with transfer
reversals after a payout). See docs/payments.md.
"""
